#!/usr/bin/env bash
# The drill report in a real browser: for each fixture journal, headless Chromium loads the
# page without a console error, and the DOM it leaves shows the verdict and one SVG chart
# per probe.
# usage: browser_drill_test.sh DRILL_HTML_TOOL DATA_DIR
set -euo pipefail
tool=$1
data=$2
source "$(dirname "${BASH_SOURCE[0]}")/browser_common.sh"

fail=0
check_page() {
  local name=$1 verdict=$2
  local journal=$data/$name.json html=$work/$name.html
  "$tool" "$journal" "$html"
  local probes
  probes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["probes"]))' "$journal")
  load_page "$name" "file://$html" || {
    echo "FAIL $name: chromium exited with $?"; cat "$work/$name.err"; fail=1; return; }
  local problems=()
  page_problems "$name" "$html"
  grep -q "data-verdict=\"$verdict\"><span class=\"word\">$verdict</span>" "$work/$name.dom" ||
    problems+=("the verdict $verdict is not shown")
  local charts
  charts=$(grep -o '<svg class="timeline"' "$work/$name.dom" | wc -l)
  [[ $charts == "$probes" ]] || problems+=("$charts timeline charts, expected $probes")
  # The browser parsed each chart as SVG: its elements are in the DOM, not as text.
  grep -q '<path class="latency" d="M' "$work/$name.dom" || problems+=("no latency line drawn")
  if ((${#problems[@]})); then
    printf 'FAIL %s: %s\n' "$name" "${problems[@]}"
    fail=1
  else
    echo "ok   $name: verdict $verdict shown, $charts charts, no console errors"
  fi
}

check_page drill-failed failed
check_page drill-skipped skipped
check_page drill-aborted aborted
exit $fail
