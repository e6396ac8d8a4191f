#!/usr/bin/env bash
# completion_test.sh ACHILLES ACHILLES_AGENT COMPLETIONS_DIR: the bash completion scripts in
# packaging/bash-completion are written by hand; this drives them as bash does (COMP_WORDS,
# COMP_CWORD, the completion function) and checks that they offer every command and subcommand
# `achilles --help` lists, and every option that the --help of each command (and of
# achilles-agent) prints, so that the scripts cannot drift from the programs. Also checks that
# file arguments complete to files. Skipped (77) without Debian's bash-completion package, whose
# helpers (_init_completion, _filedir) the scripts use.
set -uo pipefail
achilles=$1 agent=$2 completions=$3
framework=/usr/share/bash-completion/bash_completion
if [[ ! -r $framework ]]; then
  echo "skipped: $framework is missing (Debian package bash-completion)"
  exit 77
fi
# shellcheck disable=SC1090
source "$framework"
# shellcheck disable=SC1091
source "$completions/achilles"
# shellcheck disable=SC1091
source "$completions/achilles-agent"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# offered FUNCTION WORD...: what the completion offers for the last WORD (may be "").
offered() {
  local function=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$function" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}"
}

# The options a --help text prints: on its usage line and in its option lines.
options_of() {
  awk '/^usage:/ || /^options/ {print; on = /^options/; next} on && /^$/ {on = 0} on {print}' |
    grep -oE '(^|[][[:space:],])(-[a-zA-Z]|--[a-z][a-z0-9-]*)' | grep -oE -- '-.*' | sort -u
}

# expect_all WHAT OFFERED EXPECTED...: every EXPECTED word is in OFFERED (one per line).
expect_all() {
  local what=$1 got=$2 word
  shift 2
  for word in "$@"; do
    grep -qxF -- "$word" <<<"$got" || fail "$what: '$word' is not offered (offered: $(tr '\n' ' ' <<<"$got"))"
  done
}

# The commands, as `achilles --help` lists them: one or two words, then 3+ spaces.
mapfile -t commands < <("$achilles" --help |
  awk '/^commands:$/ {on = 1; next} on && /^$/ {exit} on {sub(/^  /, ""); split($0, f, /   +/); print f[1]}')
((${#commands[@]} >= 10)) || fail "achilles --help lists only ${#commands[@]} commands"
firsts=()
for c in "${commands[@]}"; do firsts+=("${c%% *}"); done
expect_all "achilles <TAB>" "$(offered _achilles achilles '')" "${firsts[@]}"
expect_all "achilles -<TAB>" "$(offered _achilles achilles -)" --help --version

checked=0
for c in "${commands[@]}"; do
  read -ra words <<<"$c"
  if ((${#words[@]} == 2)); then
    expect_all "achilles ${words[0]} <TAB>" "$(offered _achilles achilles "${words[0]}" '')" "${words[1]}"
  fi
  # shellcheck disable=SC2086 # the command's words are separate arguments
  mapfile -t options < <("$achilles" $c --help | options_of)
  ((${#options[@]})) || fail "achilles $c --help prints no options"
  expect_all "achilles $c -<TAB>" "$(offered _achilles achilles "${words[@]}" -)" "${options[@]}"
  checked=$((checked + ${#options[@]}))
done

mapfile -t agent_options < <("$agent" --help | options_of)
((${#agent_options[@]} >= 20)) || fail "achilles-agent --help prints only ${#agent_options[@]} options"
expect_all "achilles-agent -<TAB>" "$(offered _achilles_agent achilles-agent -)" "${agent_options[@]}"
checked=$((checked + ${#agent_options[@]}))

# File arguments: a topology, a plan, an output file, a directory, a value list.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
mkdir sub && touch shop.yaml notes.txt plan.yml agent.yaml
expect_all "achilles analyze <TAB>" "$(offered _achilles achilles analyze '')" shop.yaml plan.yml sub
if offered _achilles achilles analyze '' | grep -qxF notes.txt; then
  fail "achilles analyze <TAB>: offers notes.txt, not a topology"
fi
expect_all "achilles drill run <TAB>" "$(offered _achilles achilles drill run '')" plan.yml
expect_all "achilles render x -o <TAB>" "$(offered _achilles achilles render x -o '')" notes.txt
expect_all "achilles demo --out <TAB>" "$(offered _achilles achilles demo --out '')" sub
expect_all "achilles import <TAB>" "$(offered _achilles achilles import '')" k8s compose terraform dot
expect_all "achilles import k8s <TAB>" "$(offered _achilles achilles import k8s '')" notes.txt shop.yaml
expect_all "achilles analyze x --format <TAB>" "$(offered _achilles achilles analyze x --format '')" text json md
expect_all "achilles drill schedule p --emit <TAB>" "$(offered _achilles achilles drill schedule p --emit '')" systemd cron k8s
expect_all "achilles-agent --config <TAB>" "$(offered _achilles_agent achilles-agent --config '')" agent.yaml

if ((failures)); then
  echo "$failures failures"
  exit 1
fi
echo "ok: ${#commands[@]} commands, $checked options of their --help texts, and file arguments"
