#!/usr/bin/env bash
# The adversarial estates of issue 24, timed. Run from the repository root after a Release
# build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/adversarial/run.sh > adversarial.md
#
# Writes markdown to stdout (progress to stderr): the machine, then for each estate of
# estates.py (a dependency chain, a quorum that needs all but one, a failure-domain tree,
# the same tree with its service's members shuffled, SIZE each, default 10^4) the input's
# size and `achilles analyze FILE --order 2 --format FORMAT -o OUT` in every format (and a
# quorum that needs all but two, `quorum3`, at --order 3): wall time and peak resident memory from /usr/bin/time -v
# (the slowest of REPEAT runs, default 3), the output's size, and whether it stays under
# the budget of the issue (LIMIT_S seconds, default 10; LIMIT_MIB MiB, default 2048). Exits
# 1 if any run is over budget or fails.
set -euo pipefail

BUILD=${BUILD:-build}
REPEAT=${REPEAT:-3}
SIZE=${SIZE:-10000}
LIMIT_S=${LIMIT_S:-10}
LIMIT_MIB=${LIMIT_MIB:-2048}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

source "$HERE/../common.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/achilles-adversarial.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "## Adversarial estates (issue 24)"
echo
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "- load average at the start: $(cut -d" " -f1-3 /proc/loadavg) (other jobs share the machine)"
echo "- inputs: \`bench/adversarial/estates.py KIND $SIZE > KIND.yaml\`"
echo "- command: \`/usr/bin/time -v $ACHILLES analyze KIND.yaml --order ORDER --format FORMAT -o OUT\`" \
  "(ORDER 2, and 3 for quorum3)," \
  "slowest of $REPEAT; budget $LIMIT_S s and $LIMIT_MIB MiB"
echo
echo "| estate | input | format | wall (s) | peak RSS (MiB) | output | findings | within budget |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"

failed=0
for kind in chain quorum quorum3 tree shuffled; do
  order=2
  [[ $kind == quorum3 ]] && order=3
  file=$WORK/$kind.yaml
  /usr/bin/python3 "$HERE/estates.py" "$kind" "$SIZE" >"$file"
  input=$(du -k "$file" | cut -f1)
  for format in json text md; do
    log "$kind $SIZE, $format"
    worst=0 peak=0
    for ((i = 0; i < REPEAT; i++)); do
      if ! /usr/bin/time -v -o "$WORK/time" "$ACHILLES" analyze "$file" --order "$order" \
        --format "$format" -o "$WORK/out" 2>"$WORK/err"; then
        log "error: $kind $format failed: $(tail -3 "$WORK/err")"
        failed=1
      fi
      t=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$WORK/time")
      m=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time")
      worst=$(awk -v a="$t" -v b="$worst" 'BEGIN{print (a > b) ? a : b}')
      ((m > peak)) && peak=$m
    done
    mib=$(awk -v k="$peak" 'BEGIN{printf "%.0f", k / 1024}')
    out=$(du -k "$WORK/out" | cut -f1)
    findings=-
    [[ $format == json ]] && findings=$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$WORK/out")
    ok=yes
    if awk -v t="$worst" -v l="$LIMIT_S" -v m="$mib" -v lm="$LIMIT_MIB" 'BEGIN{exit !(t >= l || m >= lm)}'; then
      ok=NO
      failed=1
    fi
    echo "| $kind | ${input} KiB | $format | $worst | $mib | ${out} KiB | $findings | $ok |"
  done
done
exit $failed
