# Shared by the browser tests: find Chromium, load a page headless, and check what every
# page must satisfy. Sourced; sets `chromium` and `work`, and the caller's `fail`.

chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium ]]; then
  echo "chromium is not installed: skipped (apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# load_page NAME URL: the DOM Chromium leaves in $work/NAME.dom, its log in $work/NAME.err.
# A fresh profile, no network, no first-run work: the page is all there is.
load_page() {
  local name=$1 url=$2
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --no-default-browser-check --user-data-dir="$work/profile-$name" \
    --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
    --dump-dom "$url" >"$work/$name.dom" 2>"$work/$name.err"
}

# page_problems NAME HTML: appends to the caller's `problems` what is wrong with any page: the
# script did not finish or reported errors, console messages, or a fetch from the network.
page_problems() {
  local name=$1 html=$2
  grep -q 'data-ready="1"' "$work/$name.dom" || problems+=("the page script did not finish")
  grep -q 'data-errors=' "$work/$name.dom" &&
    problems+=("script errors: $(grep -o 'data-errors="[^"]*"' "$work/$name.dom")")
  if grep 'CONSOLE' "$work/$name.err" >/dev/null; then
    problems+=("console messages: $(grep CONSOLE "$work/$name.err" | head -5)")
  fi
  grep -q 'http://\|https://' <(grep -o '<\(script\|link\|img\)[^>]*\(src\|href\)="[^"]*"' "$html" || true) &&
    problems+=("the page fetches from the network")
  return 0
}
