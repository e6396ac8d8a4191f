#!/usr/bin/env bash
# The HTML report in a real browser: for each sample topology, headless Chromium loads the
# page (opened on a blast-radius link), runs its script without a console error, and the
# DOM it leaves shows every finding and a painted blast radius.
# usage: browser_test.sh ACHILLES TOPOLOGIES_DIR DATA_DIR
set -euo pipefail
achilles=$1
topologies=$2
data=$3
source "$(dirname "${BASH_SOURCE[0]}")/browser_common.sh"

fail=0
check_page() {
  local name=$1 topology=$2 blast=$3
  local html=$work/$name.html
  "$achilles" report "$topology" -o "$html"
  local expected
  expected=$("$achilles" analyze "$topology" --format json | python3 -c \
    'import json,sys; print(len(json.load(sys.stdin)["findings"]))')
  load_page "$name" "file://$html#blast=$blast" || {
    echo "FAIL $name: chromium exited with $?"; cat "$work/$name.err"; fail=1; return; }
  local problems=()
  page_problems "$name" "$html"
  local rows
  rows=$(grep -o '<tr data-id=' "$work/$name.dom" | wc -l)
  [[ $rows == "$expected" ]] || problems+=("$rows finding rows, expected $expected")
  # The blast radius link painted the failed element black (#212121) and something else.
  grep -q 'fill="#212121"' "$work/$name.dom" || problems+=("no failed element painted for #blast=$blast")
  grep -q 'Failing '"$blast" "$work/$name.dom" || problems+=("no blast summary for $blast")
  if ((${#problems[@]})); then
    printf 'FAIL %s: %s\n' "$name" "${problems[@]}"
    fail=1
  else
    echo "ok   $name: $rows findings, blast radius of $blast painted, no console errors"
  fi
}

# Pan and zoom: a link opens the graph zoomed (the viewBox a third of the whole), the
# full-size link is a blob of the picture itself, and nothing is fetched.
check_zoom() {
  local html=$work/zoom.html problems=()
  "$achilles" report "$topologies/campaign-2012.yaml" -o "$html" 2>/dev/null
  load_page zoom "file://$html#blast=db-primary&zoom=3" || {
    echo "FAIL zoom: chromium exited with $?"; fail=1; return; }
  page_problems zoom "$html"
  grep -q 'id="graph-wrap" data-zoom="3.00"' "$work/zoom.dom" || problems+=("not zoomed to 3")
  grep -q 'id="graph-full" target="_blank" rel="noopener" href="blob:' "$work/zoom.dom" ||
    problems+=("no full-size link")
  grep -q 'Failing db-primary' "$work/zoom.dom" || problems+=("no blast summary with a zoom")
  if ((${#problems[@]})); then
    printf 'FAIL zoom: %s\n' "${problems[@]}"
    fail=1
  else
    echo "ok   zoom: #zoom=3 zooms the graph, full-size link, blast link still works"
  fi
}

check_zoom
check_page gate "$data/gate.yaml" az1
check_page three-tier "$topologies/three-tier.yaml" rack-a2
check_page microservices "$topologies/microservices.yaml" euw1-az1
exit $fail
