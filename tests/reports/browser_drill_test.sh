#!/usr/bin/env bash
# The drill report in a real browser: for each fixture journal, headless Chromium loads the
# page without a console error, and the DOM it leaves shows the verdict and one SVG chart
# per probe.
# usage: browser_drill_test.sh DRILL_HTML_TOOL DATA_DIR
set -euo pipefail
tool=$1
data=$2
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium ]]; then
  echo "chromium is not installed: skipped (apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail=0
check_page() {
  local name=$1 verdict=$2
  local journal=$data/$name.json html=$work/$name.html
  "$tool" "$journal" "$html"
  local probes
  probes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["probes"]))' "$journal")
  # A fresh profile, no network, no first-run work: the page is all there is.
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --no-default-browser-check --user-data-dir="$work/profile-$name" \
    --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
    --dump-dom "file://$html" >"$work/$name.dom" 2>"$work/$name.err" || {
    echo "FAIL $name: chromium exited with $?"; cat "$work/$name.err"; fail=1; return; }
  local problems=()
  grep -q 'data-ready="1"' "$work/$name.dom" || problems+=("the page script did not finish")
  grep -q 'data-errors=' "$work/$name.dom" && problems+=("script errors: $(grep -o 'data-errors="[^"]*"' "$work/$name.dom")")
  if grep 'CONSOLE' "$work/$name.err" >/dev/null; then
    problems+=("console messages: $(grep CONSOLE "$work/$name.err" | head -5)")
  fi
  grep -q "data-verdict=\"$verdict\"><span class=\"word\">$verdict</span>" "$work/$name.dom" ||
    problems+=("the verdict $verdict is not shown")
  local charts
  charts=$(grep -o '<svg class="timeline"' "$work/$name.dom" | wc -l)
  [[ $charts == "$probes" ]] || problems+=("$charts timeline charts, expected $probes")
  # The browser parsed each chart as SVG: its elements are in the DOM, not as text.
  grep -q '<path class="latency" d="M' "$work/$name.dom" || problems+=("no latency line drawn")
  grep -q 'http://\|https://' <(grep -o '<\(script\|link\|img\)[^>]*\(src\|href\)="[^"]*"' "$html" || true) &&
    problems+=("the page fetches from the network")
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
