#!/usr/bin/env bash
# The render benchmark. Run from the repository root after a Release build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/reports/render.sh > reports.md
#
# Writes markdown to stdout (progress to stderr): the machine, then for synthetic topologies
# from `achilles generate --seed 1`, `achilles render --level service` to SVG (and PNG at the
# sizes in PNG_SIZES) with wall time, CPU time (user + system) and peak memory, each the
# fastest of REPEAT runs; then `achilles report` at 10^4. The goal: a 10^5-component
# topology renders at the service level in under 60 s.
#
# Knobs (environment): BUILD (default build), REPEAT (default 3), SIZES (default
# "1000 10000 100000"), PNG_SIZES (default "10000"), SEED (default 1).
set -euo pipefail

BUILD=${BUILD:-build}
REPEAT=${REPEAT:-3}
SIZES=${SIZES:-"1000 10000 100000"}
PNG_SIZES=${PNG_SIZES:-"10000"}
SEED=${SEED:-1}

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/achilles-render-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# timed CMD...: runs CMD $REPEAT times; prints "WALL CPU PEAK_KIB" of the fastest run by
# wall time (and the largest peak). Fails if CMD fails.
timed() {
  local best="" cpu="" peak=0 t u s m
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >/dev/null
    read -r t u s m <"$WORK/time"
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then
      best=$t
      cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
    fi
    ((m > peak)) && peak=$m
  done
  echo "$best $cpu $peak"
}

nodes_of() {  # drawn nodes in an SVG
  grep -c 'class="node"' "$1" || true
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), by \`bench/reports/render.sh\`."
echo "- Machine: $(nproc) CPUs ($cpu_model), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
echo "- Build: $build_type, Graphviz $(dot -V 2>&1 | sed 's/.*version //'); each figure the fastest of $REPEAT runs (wall), CPU = user + system of that run, peak = largest resident set."
echo
echo "| components | output | drawn nodes | layout | wall s | CPU s | peak MiB | file MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for n in $SIZES; do
  log "generating $n components"
  "$ACHILLES" generate --components "$n" --seed "$SEED" -o "$WORK/g$n.json" >/dev/null
  formats=svg
  for p in $PNG_SIZES; do [[ $p == "$n" ]] && formats="svg png"; done
  for f in $formats; do
    log "render $n -> $f"
    read -r wall cpu peak < <(timed "$ACHILLES" render "$WORK/g$n.json" -o "$WORK/g$n.$f")
    drawn=$( [[ $f == svg ]] && nodes_of "$WORK/g$n.svg" || echo "") 
    [[ $f == svg ]] && svg_nodes=$drawn
    layout=$( ((${svg_nodes:-0} > 2000)) && echo sfdp || echo dot)
    size=$(awk -v b="$(stat -c %s "$WORK/g$n.$f")" 'BEGIN{printf "%.1f", b/1048576}')
    echo "| $n | $f | ${svg_nodes:-} | $layout | $wall | $cpu | $((peak / 1024)) | $size |"
  done
done
if [[ " $SIZES " == *" 10000 "* ]]; then
  log "report 10000"
  read -r wall cpu peak < <(timed "$ACHILLES" report "$WORK/g10000.json" -o "$WORK/r.html")
  size=$(awk -v b="$(stat -c %s "$WORK/r.html")" 'BEGIN{printf "%.1f", b/1048576}')
  echo "| 10000 | report (html, graph left out above 2,000 nodes) | | | $wall | $cpu | $((peak / 1024)) | $size |"
fi
