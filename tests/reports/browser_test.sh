#!/usr/bin/env bash
# The HTML report in a real browser: for each sample topology, headless Chromium loads the
# page (opened on a blast-radius link), runs its script without a console error, and the
# DOM it leaves shows every finding and a painted blast radius.
# usage: browser_test.sh ACHILLES TOPOLOGIES_DIR DATA_DIR
set -euo pipefail
achilles=$1
topologies=$2
data=$3
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium ]]; then
  echo "chromium is not installed: skipped (apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail=0
check_page() {
  local name=$1 topology=$2 blast=$3
  local html=$work/$name.html
  "$achilles" report "$topology" -o "$html"
  local expected
  expected=$("$achilles" analyze "$topology" --format json | python3 -c \
    'import json,sys; print(len(json.load(sys.stdin)["findings"]))')
  # A fresh profile, no network, no first-run work: the page is all there is.
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --no-default-browser-check --user-data-dir="$work/profile-$name" \
    --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
    --dump-dom "file://$html#blast=$blast" >"$work/$name.dom" 2>"$work/$name.err" || {
    echo "FAIL $name: chromium exited with $?"; cat "$work/$name.err"; fail=1; return; }
  local problems=()
  grep -q 'data-ready="1"' "$work/$name.dom" || problems+=("the page script did not finish")
  grep -q 'data-errors=' "$work/$name.dom" && problems+=("script errors: $(grep -o 'data-errors="[^"]*"' "$work/$name.dom")")
  if grep 'CONSOLE' "$work/$name.err" >/dev/null; then
    problems+=("console messages: $(grep CONSOLE "$work/$name.err" | head -5)")
  fi
  local rows
  rows=$(grep -o '<tr data-id=' "$work/$name.dom" | wc -l)
  [[ $rows == "$expected" ]] || problems+=("$rows finding rows, expected $expected")
  # The blast radius link painted the failed element black (#212121) and something else.
  grep -q 'fill="#212121"' "$work/$name.dom" || problems+=("no failed element painted for #blast=$blast")
  grep -q 'Failing '"$blast" "$work/$name.dom" || problems+=("no blast summary for $blast")
  grep -q 'http://\|https://' <(grep -o '<\(script\|link\|img\)[^>]*\(src\|href\)="[^"]*"' "$html" || true) &&
    problems+=("the page fetches from the network")
  if ((${#problems[@]})); then
    printf 'FAIL %s: %s\n' "$name" "${problems[@]}"
    fail=1
  else
    echo "ok   $name: $rows findings, blast radius of $blast painted, no console errors"
  fi
}

check_page gate "$data/gate.yaml" az1
check_page three-tier "$topologies/three-tier.yaml" rack-a2
check_page microservices "$topologies/microservices.yaml" euw1-az1
exit $fail
