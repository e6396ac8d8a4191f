#!/bin/sh
# Runs every fuzz target of fuzz/analyzer for SECONDS each (default 60), starting from its
# seed corpus, and fails on the first finding (a crash, a sanitizer report, an exception
# other than the project's input errors, more than 2 GiB or 10 s on one input). New inputs
# go to a scratch corpus, not into the seeds; a finding is left in ARTIFACTS (default
# ./fuzz-artifacts) for a regression test. FUZZ_SEED=N fixes libFuzzer's seed (see scripts/fuzz).
#   fuzz/analyzer/run.sh BUILD_DIR [SECONDS] [ARTIFACTS]
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS] [ARTIFACTS]}
seconds=${2:-60}
artifacts=${3:-fuzz-artifacts}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
seed=
if [ -n "${FUZZ_SEED:-}" ]; then seed="-seed=$FUZZ_SEED"; fi
for target in topology_yaml topology_json import_k8s import_compose import_terraform \
              import_dot drill_plan promql policy baseline; do
  mkdir -p "$scratch/$target"
  echo "fuzz: $target for ${seconds}s"
  if ! "$build/fuzz/analyzer/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -timeout=10 -max_len=65536 -print_final_stats=1 $seed \
      -artifact_prefix="$artifacts/$target-" "$scratch/$target" "$here/corpus/$target" \
      > "$artifacts/$target.log" 2>&1; then
    echo "fuzz: $target FOUND a problem: see $artifacts/$target.log" >&2
    tail -n 30 "$artifacts/$target.log" >&2
    status=1
  fi
  grep -E '^stat::number_of_executed_units' "$artifacts/$target.log" || true
done
exit $status
