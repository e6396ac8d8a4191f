#!/usr/bin/env bash
# The analyzer benchmark. Run from the repository root after a Release build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/analyzer/run.sh > analyzer.md
#
# Writes markdown to stdout (progress goes to stderr): the machine; generating synthetic
# topologies; `achilles analyze --order 1` at 10^5 and 10^6 components, wall time and peak
# memory, and whether 10x the input costs at most 12x the time; `--order 2` at 10^4; and
# the NetworkX baseline (networkx_spof.py, which documents its design) on the same files,
# with a check that both find the same spof and domain_spof subjects.
#
# Knobs (environment): BUILD (build directory, default build), REPEAT (runs per timing,
# the fastest is reported; default 3), SCALE_SIZES (default "100000 1000000"),
# ORDER2_SIZE (default 10000), NX_SIZES (default "10000 100000 1000000"), NX_TIMEOUT
# (seconds per NetworkX run, default 600), NX_NAIVE_SIZES (default as NX_SIZES) and
# NX_NAIVE_SAMPLE (failures timed to extrapolate the naive variant, default 30), SEED
# (default 1).
set -euo pipefail

BUILD=${BUILD:-build}
REPEAT=${REPEAT:-3}
SCALE_SIZES=${SCALE_SIZES:-"100000 1000000"}
ORDER2_SIZE=${ORDER2_SIZE:-10000}
NX_SIZES=${NX_SIZES:-"10000 100000 1000000"}
NX_TIMEOUT=${NX_TIMEOUT:-600}
NX_NAIVE_SIZES=${NX_NAIVE_SIZES:-"10000 100000 1000000"}
NX_NAIVE_SAMPLE=${NX_NAIVE_SAMPLE:-30}
SEED=${SEED:-1}
PY=/usr/bin/python3  # Debian's, with python3-networkx; not a pyenv interpreter on PATH
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
[[ -x $ACHILLES ]] || ACHILLES=$BUILD/achilles
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/achilles-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# timed OUT CMD...: runs CMD $REPEAT times; OUT gets "SECONDS PEAK_KIB" of the fastest
# run (and the largest peak). Fails if CMD fails.
timed() {
  local out=$1 best="" peak=0 t m
  shift
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >/dev/null
    read -r t m <"$WORK/time"
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
    ((m > peak)) && peak=$m
  done
  echo "$best $peak" >"$out"
}

mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k / 1024}'; }
pow10() { awk -v n="$1" 'BEGIN{e = int(log(n) / log(10) + 0.5); if (10 ^ e == n) printf "10^%d", e; else printf "%d", n}'; }

# The input files, generated once each.
declare -A FILE
gen_table=""
for n in $(printf '%s\n' $SCALE_SIZES $ORDER2_SIZE $NX_SIZES $NX_NAIVE_SIZES | sort -n -u); do
  f=$WORK/gen-$n.json
  log "generating $n components"
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$ACHILLES" generate --components "$n" --seed "$SEED" -o "$f"
  read -r t m <"$WORK/time"
  FILE[$n]=$f
  counts=$("$PY" - "$f" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
deps = sum(len(e.get("depends_on", [])) for k in ("components", "services") for e in d[k])
print(" | ".join(str(x) for x in (len(d["domains"]), len(d["services"]), len(d["entrypoints"]), deps)))
EOF
)
  size=$(stat -c %s "$f")
  gen_table+="| $(pow10 "$n") | $counts | $(awk -v s="$size" 'BEGIN{printf "%.1f", s / 1048576}') | $t | $(mib "$m") |"$'\n'
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ram=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && commit+=" with uncommitted changes"
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cat <<EOF
## Analyzer

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), by \`bench/analyzer/run.sh\`.
- Machine: $(nproc) CPUs ($cpu), $ram RAM, $(uname -sr); shared with other work while
  this ran, so timings carry some noise.
- Build: commit $commit, $build_type, $("$cxx" --version 2>/dev/null | head -1).
- Method: each timing is the fastest of $REPEAT runs, peak memory the largest resident set,
  both from \`/usr/bin/time -f '%e %M'\`; inputs from \`achilles generate\` with seed $SEED.

### Inputs (\`achilles generate --components N --seed $SEED -o FILE.json\`)

| components | domains | services | entrypoints | dependencies | JSON MiB | generate s | generate peak MiB |
| --- | --- | --- | --- | --- | --- | --- | --- |
$gen_table
EOF

# --- achilles analyze --order 1, and the scaling check --------------------------------------
echo "### \`achilles analyze FILE --order 1 --format json -o OUT.json\`"
echo
echo "| components | wall s | peak MiB | spof | domain_spof | findings |"
echo "| --- | --- | --- | --- | --- | --- |"
declare -A T1
for n in $SCALE_SIZES; do
  log "analyze --order 1 at $n"
  # The timed run writes its JSON to a file, as a user would, and so that the findings can
  # be counted and compared without a second run. At 10^6 that is 540 MB, which costs some
  # tenths of a second more than /dev/null (bench/RESULTS.md, seventh round).
  timed "$WORK/t" "$ACHILLES" analyze "${FILE[$n]}" --order 1 --format json -o "$WORK/a-$n.json"
  read -r t m <"$WORK/t"
  T1[$n]=$t
  counts=$("$PY" -c '
import json, sys
f = json.load(open(sys.argv[1]))["findings"]
print(sum(x["kind"] == "spof" for x in f), "|", sum(x["kind"] == "domain_spof" for x in f), "|", len(f))
' "$WORK/a-$n.json")
  echo "| $(pow10 "$n") | $t | $(mib "$m") | $counts |"
done
echo
read -r small large <<<"$SCALE_SIZES"
if [[ -n ${large:-} ]]; then
  verdict=$(awk -v a="${T1[$small]}" -v b="${T1[$large]}" -v na="$small" -v nb="$large" 'BEGIN{
    r = b / (a > 0 ? a : 0.01); x = nb / na; lim = 1.2 * x;
    printf "%.1fx the time for %gx the input: %s (limit %gx)", r, x, (r <= lim ? "PASS" : "FAIL"), lim }')
  echo "Scaling, $(pow10 "$small") to $(pow10 "$large") components: $verdict."
  echo
fi

# --- --order 2 ----------------------------------------------------------------------------
log "analyze --order 2 at $ORDER2_SIZE"
timed "$WORK/t" "$ACHILLES" analyze "${FILE[$ORDER2_SIZE]}" --order 2 --format json -o "$WORK/a2.json"
read -r t m <"$WORK/t"
cuts=$("$PY" -c '
import json, sys
print(sum(x["kind"] == "cut_set" for x in json.load(open(sys.argv[1]))["findings"]))' "$WORK/a2.json")
echo "### \`achilles analyze FILE --order 2\`"
echo
echo "| components | wall s | peak MiB | cut_set findings |"
echo "| --- | --- | --- | --- |"
echo "| $(pow10 "$ORDER2_SIZE") | $t | $(mib "$m") | $cuts |"
echo

# --- NetworkX baseline ----------------------------------------------------------------------
echo "### NetworkX baseline: fail each component and domain, re-check the entrypoints"
echo
if ! "$PY" -c 'import networkx' 2>/dev/null; then
  echo "Skipped: $PY has no networkx (apt-get install python3-networkx)."
  exit 0
fi
nxv=$("$PY" -c 'import networkx, sys; print(networkx.__version__, sys.version.split()[0])')
echo "\`bench/analyzer/networkx_spof.py\` (NetworkX ${nxv% *}, Python ${nxv#* }): builds an"
echo "\`nx.DiGraph\` of \"needs\" edges from the same JSON and, for every component and every"
echo "domain, propagates its failure to what needs it (k-of-n services counted) and records"
echo "whether an entrypoint went down; the script's docstring explains the design. Its"
echo "time includes reading the JSON, as \`achilles analyze\`'s does. Single runs."
echo
echo "| components | achilles --order 1 s | NetworkX s (load + build + fail each) | NetworkX peak MiB | NetworkX / achilles | same spof and domain_spof |"
echo "| --- | --- | --- | --- | --- | --- |"
prev_n="" prev_t="" notes=""
for n in $NX_SIZES; do
  if [[ -z ${T1[$n]:-} ]]; then
    log "analyze --order 1 at $n (for the comparison)"
    timed "$WORK/t" "$ACHILLES" analyze "${FILE[$n]}" --order 1 --format json -o "$WORK/a-$n.json"
    read -r T1[$n] _ <"$WORK/t"
  fi
  if [[ -n $prev_t && $prev_t == timeout ]]; then
    echo "| $(pow10 "$n") | ${T1[$n]} | not run (a smaller size timed out) | | | |"
    continue
  fi
  log "networkx at $n (timeout ${NX_TIMEOUT}s)"
  set +e
  /usr/bin/time -f '%e %M' -o "$WORK/time" timeout "$NX_TIMEOUT" \
    "$PY" "$HERE/networkx_spof.py" "${FILE[$n]}" --findings "$WORK/nx-$n.json" >"$WORK/nx-$n.out"
  rc=$?
  set -e
  if ((rc == 124)); then
    if [[ -n $prev_n ]]; then
      est=$(awk -v t="$prev_t" -v a="$prev_n" -v b="$n" -v e="$NX_EXP" 'BEGIN{printf "%.0f", t * (b / a) ^ e}')
      echo "| $(pow10 "$n") | ${T1[$n]} | over ${NX_TIMEOUT} (timed out); extrapolated ~$est | | ~$(awk -v a="$est" -v b="${T1[$n]}" 'BEGIN{printf "%.0f", a / b}')x (extrapolated) | |"
      notes+="NetworkX at $(pow10 "$n") did not finish within ${NX_TIMEOUT} s; the figure is an extrapolation from the smaller sizes (time ~ N^$NX_EXP), not a measurement."$'\n'
    else
      echo "| $(pow10 "$n") | ${T1[$n]} | over ${NX_TIMEOUT} (timed out) | | | |"
    fi
    prev_t=timeout
    continue
  fi
  ((rc == 0)) || { echo "bench: error: networkx_spof.py failed at $n" >&2; exit 3; }
  read -r t m <"$WORK/time"
  parts=$("$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
print("%.1f + %.1f + %.1f" % (r["load_s"], r["build_s"], r["fail_each_s"]))' "$WORK/nx-$n.out")
  same=$("$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))["findings"]
n = json.load(open(sys.argv[2]))
ok = all(sorted(f["subject"][0] for f in a if f["kind"] == k) == n[k] for k in ("spof", "domain_spof"))
print("%s (%d + %d)" % ("yes" if ok else "NO", len(n["spof"]), len(n["domain_spof"])))' "$WORK/a-$n.json" "$WORK/nx-$n.json")
  ratio=$(awk -v a="$t" -v b="${T1[$n]}" 'BEGIN{printf "%.2fx", a / (b > 0 ? b : 0.01)}')
  echo "| $(pow10 "$n") | ${T1[$n]} | $t ($parts) | $(mib "$m") | $ratio | $same |"
  if [[ -n $prev_n && $prev_t != timeout ]]; then
    # The growth exponent between the last two sizes, at least 1: the work is at least
    # linear, and small sizes are dominated by the interpreter's start-up.
    NX_EXP=$(awk -v t1="$prev_t" -v t2="$t" -v a="$prev_n" -v b="$n" 'BEGIN{e = log(t2 / t1) / log(b / a); printf "%.2f", e < 1 ? 1 : e}')
  else
    NX_EXP=${NX_EXP:-1}
  fi
  prev_n=$n prev_t=$t
done
echo
[[ -n $notes ]] && printf '%s\n' "$notes"

# --- the naive variant, for contrast -------------------------------------------------------
echo "#### For contrast: the naive re-check (\`networkx_spof.py --naive\`)"
echo
echo "Marks each element failed and evaluates every entrypoint from scratch over the whole"
echo "graph. Each size is first timed on $NX_NAIVE_SAMPLE failures drawn at random; when that"
echo "predicts more than ${NX_TIMEOUT} s the full run is skipped and the figure is an"
echo "extrapolation (the mean time per failure times the number of failures), not a measurement."
echo
echo "| components | achilles --order 1 s | naive NetworkX s | naive / achilles | same spof and domain_spof |"
echo "| --- | --- | --- | --- | --- |"
for n in $NX_NAIVE_SIZES; do
  if [[ -z ${T1[$n]:-} ]]; then
    timed "$WORK/t" "$ACHILLES" analyze "${FILE[$n]}" --order 1 --format json -o "$WORK/a-$n.json"
    read -r T1[$n] _ <"$WORK/t"
  fi
  log "naive networkx at $n: $NX_NAIVE_SAMPLE sampled failures"
  "$PY" "$HERE/networkx_spof.py" "${FILE[$n]}" --naive --sample "$NX_NAIVE_SAMPLE" >"$WORK/nv-$n.out"
  est=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["total_s"])' "$WORK/nv-$n.out")
  if awk -v e="$est" -v t="$NX_TIMEOUT" 'BEGIN{exit !(e <= t)}'; then
    log "naive networkx at $n: full run (estimated ${est} s)"
    set +e
    /usr/bin/time -f '%e %M' -o "$WORK/time" timeout "$NX_TIMEOUT" \
      "$PY" "$HERE/networkx_spof.py" "${FILE[$n]}" --naive --findings "$WORK/nv-$n.json" >/dev/null
    rc=$?
    set -e
    if ((rc == 0)); then
      read -r t m <"$WORK/time"
      same=$("$PY" -c '
import json, sys
a = json.load(open(sys.argv[1]))["findings"]
n = json.load(open(sys.argv[2]))
print("yes" if all(sorted(f["subject"][0] for f in a if f["kind"] == k) == n[k] for k in ("spof", "domain_spof")) else "NO")' "$WORK/a-$n.json" "$WORK/nv-$n.json")
      echo "| $(pow10 "$n") | ${T1[$n]} | $t | $(awk -v a="$t" -v b="${T1[$n]}" 'BEGIN{printf "%.0fx", a / (b > 0 ? b : 0.01)}') | $same |"
      continue
    fi
  fi
  echo "| $(pow10 "$n") | ${T1[$n]} | ~$(awk -v e="$est" 'BEGIN{printf "%.0f", e}') (extrapolated, ~$(awk -v e="$est" 'BEGIN{printf "%.1f", e / 3600}') h) | ~$(awk -v a="$est" -v b="${T1[$n]}" 'BEGIN{printf "%.0fx", a / (b > 0 ? b : 0.01)}') | not run |"
done
echo
exit 0
