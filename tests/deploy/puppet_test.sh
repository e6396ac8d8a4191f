#!/bin/bash
# The Puppet module injector/deploy/puppet/achilles_agent, with Debian's puppet (skipped, 77,
# without it). Two modes:
#
#   puppet_test.sh unit REPO
#     `puppet parser validate` and `puppet epp validate` pass on the module, and its unit
#     template with the default paths renders injector/deploy/achilles-agent.service (every line
#     but the comments), so that the two cannot drift apart.
#
#   puppet_test.sh apply AGENT REPO
#     `puppet apply` for real (not --noop) with install_method 'binary' (AGENT is the source),
#     manage_user and manage_service false and every path in a temporary directory (this
#     machine may have no running systemd, and a test must not write the machine's /etc, /usr
#     or /lib/systemd), as the user running the test. Then: the files and their modes (token
#     0600), the agent started exactly as the installed unit's ExecStart says (on a loopback
#     port the test picks) answers GET /v1/status with the installed token and refuses it
#     without; a second apply changes nothing (--detailed-exitcodes 0), a changed parameter is
#     applied (2) and a token under 16 bytes is refused before anything is written; a token
#     from token_source is installed the same way, and token with token_source is refused.
#
# Puppet's own state (vardir, confdir, logs) is in the temporary directory too; everything the
# test made is removed at the end, also on failure, and the only process it signals is the
# agent it started.
set -euo pipefail
mode=$1
if [[ $mode == apply ]]; then AGENT=$2 REPO=$3; else REPO=$2; fi
MODULES=$REPO/injector/deploy/puppet
MODULE=$MODULES/achilles_agent

if ! command -v puppet >/dev/null; then
  echo "SKIP: puppet is not installed (Debian package puppet; scripts/setup installs it)"
  exit 77
fi

tmp=$(mktemp -d /tmp/achilles-puppet-test.XXXXXX)
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Puppet with all of its own files under $tmp. Facter's complaints about what this sandbox hides
# (/proc/1/environ) are noise: they are dropped from the output shown, nothing else is.
puppet_opts=(--confdir "$tmp/puppet/conf" --vardir "$tmp/puppet/var" --codedir "$tmp/puppet/code"
  --logdir "$tmp/puppet/log" --rundir "$tmp/puppet/run" --publicdir "$tmp/puppet/public" --color false)
quiet() { grep -v 'Error: Facter: Permission denied @ rb_sysopen - /proc/1/environ' || true; }

if [[ $mode == unit ]]; then
  puppet parser validate "${puppet_opts[@]}" "$MODULE/manifests/init.pp" 2>&1 | quiet
  [[ ${PIPESTATUS[0]} == 0 ]] || fail "puppet parser validate"
  puppet epp validate "${puppet_opts[@]}" "$MODULE/templates/achilles-agent.service.epp" 2>&1 | quiet
  [[ ${PIPESTATUS[0]} == 0 ]] || fail "puppet epp validate"
  puppet epp render "${puppet_opts[@]}" "$MODULE/templates/achilles-agent.service.epp" --values \
    "{binary_path => '/usr/local/bin/achilles-agent', config_dir => '/etc/achilles',
      state_dir => '/var/lib/achilles', log_dir => '/var/log/achilles',
      audit_log => '/var/log/achilles/audit.jsonl', user => 'achilles', group => 'achilles'}" \
    >"$tmp/unit" 2>"$tmp/err" || { quiet <"$tmp/err"; fail "puppet epp render"; }
  if ! diff -u <(grep -v '^#' "$REPO/injector/deploy/achilles-agent.service") <(grep -v '^#' "$tmp/unit"); then
    fail "the module's unit with the default paths is not injector/deploy/achilles-agent.service (diff above)"
  fi
  echo "PASS: the module validates, and its unit with the default paths is achilles-agent.service"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "SKIP: the module installs the binary, the configuration and the unit owned by root, which only root may do"
  exit 77
fi
root=$tmp/root
me=$(id -un) mygroup=$(id -gn)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')

# apply MANIFEST_TEXT: puppet apply --detailed-exitcodes; prints the exit code.
apply() {
  printf '%s\n' "$1" >"$tmp/site.pp"
  local rc=0
  puppet apply "${puppet_opts[@]}" --modulepath "$MODULES" --detailed-exitcodes "$tmp/site.pp" \
    >"$tmp/apply.out" 2>&1 || rc=$?
  quiet <"$tmp/apply.out" >"$tmp/apply.log"
  echo "$rc"
}
manifest() {  # manifest TOKEN MAX_DURATION_MS [TOKEN_PARAMETERS]
  cat <<PP
class { 'achilles_agent':
  install_method => 'binary',
  binary_source  => '$AGENT',
  binary_path    => '$root/usr/local/bin/achilles-agent',
  ${3:-token => Sensitive('$1'),}
  config         => {
    'listen'          => '127.0.0.1:$port',
    'max_duration_ms' => $2,
    'allow'           => { 'processes' => ['achilles-puppet-test-nothing'] },
  },
  config_dir     => '$root/etc/achilles',
  state_dir      => '$root/var/lib/achilles',
  log_dir        => '$root/var/log/achilles',
  unit_dir       => '$root/etc/systemd/system',
  user           => '$me',
  group          => '$mygroup',
  manage_user    => false,
  manage_service => false,
}
PP
}

# The directories a Debian host has, which the module expects to exist.
skeleton() { mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/var/lib" "$root/var/log"; }
skeleton
rc=$(apply "$(manifest "$token" 900000)")
[[ $rc == 2 ]] || { cat "$tmp/apply.log"; fail "the first apply exited $rc, not 2 (changes made)"; }

# What it installed.
check_file() {  # PATH MODE OWNER
  [[ -e $1 ]] || fail "$1 was not made"
  local got
  got=$(stat -c '%a %U' "$1")
  [[ $got == "$2 $3" ]] || fail "$1 is '$got', not '$2 $3'"
}
check_file "$root/usr/local/bin/achilles-agent" 755 root
cmp -s "$AGENT" "$root/usr/local/bin/achilles-agent" || fail "the installed binary is not $AGENT"
check_file "$root/etc/achilles" 750 root
check_file "$root/etc/achilles/agent.yaml" 640 root
check_file "$root/etc/achilles/token" 600 "$me"
check_file "$root/var/lib/achilles" 700 "$me"
check_file "$root/var/log/achilles" 700 "$me"
check_file "$root/etc/systemd/system/achilles-agent.service" 644 root
[[ $(cat "$root/etc/achilles/token") == "$token" ]] || fail "the installed token is not the one given"
grep -qF "$token" "$tmp/apply.log" && fail "the token appears in puppet's output"
for line in "listen: 127.0.0.1:$port" "token_file: \"$root/etc/achilles/token\"" \
  "state_file: \"$root/var/lib/achilles/state.json\"" "audit_log: \"$root/var/log/achilles/audit.jsonl\"" \
  "max_duration_ms: 900000" "  - achilles-puppet-test-nothing"; do
  # Psych quotes strings only where YAML needs it; accept either form.
  grep -qxF "$line" "$root/etc/achilles/agent.yaml" || grep -qxF "${line//\"/}" "$root/etc/achilles/agent.yaml" ||
    { cat "$root/etc/achilles/agent.yaml"; fail "agent.yaml lacks the line '$line'"; }
done
grep -qx "User=$me" "$root/etc/systemd/system/achilles-agent.service" || fail "the unit's User= is not $me"

# The agent, started as the unit says.
exec_start=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$root/etc/systemd/system/achilles-agent.service" |
  sed -e 's/^ExecStart=//' -e 's/\\$//' | tr '\n' ' ')
read -r -a cmd <<<"$exec_start"
[[ ${cmd[0]} == "$root/usr/local/bin/achilles-agent" ]] || fail "ExecStart runs '${cmd[0]}', not the installed binary"
"${cmd[@]}" >"$tmp/agent.out" 2>"$tmp/agent.err" &
agent_pid=$!
deadline=$((SECONDS + 30))
until grep -qs "listening on 127.0.0.1:$port" "$tmp/agent.out"; do
  if ! kill -0 "$agent_pid" 2>/dev/null; then
    cat "$tmp/agent.err"
    fail "the agent exited before it listened: ${cmd[*]}"
  fi
  ((SECONDS < deadline)) || fail "the agent did not say it listens on 127.0.0.1:$port within 30 s"
  sleep 0.1
done
status=$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $(cat "$root/etc/achilles/token")" \
  "http://127.0.0.1:$port/v1/status")
[[ ${status##*$'\n'} == 200 ]] || fail "GET /v1/status with the installed token: $status"
[[ $status == *'"halted":false'* || $status == *'"halted": false'* ]] || fail "GET /v1/status answered: $status"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/status")
[[ $code == 401 ]] || fail "GET /v1/status without the token answered $code, not 401"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "the agent exited $? after SIGTERM, not 0"
agent_pid=
[[ -s $root/var/log/achilles/audit.jsonl ]] || fail "the agent wrote no audit log where the unit says"

# Idempotent: the same manifest again changes nothing.
rc=$(apply "$(manifest "$token" 900000)")
[[ $rc == 0 ]] || { cat "$tmp/apply.log"; fail "the second apply exited $rc, not 0 (it changed something)"; }
# A changed parameter is applied, and only that file changes.
before=$(stat -c %Y "$root/etc/achilles/token")
rc=$(apply "$(manifest "$token" 600000)")
[[ $rc == 2 ]] || { cat "$tmp/apply.log"; fail "an apply with another max_duration_ms exited $rc, not 2"; }
grep -qx "max_duration_ms: 600000" "$root/etc/achilles/agent.yaml" || fail "max_duration_ms was not changed"
grep -q "agent.yaml\]/content: content changed" "$tmp/apply.log" || { cat "$tmp/apply.log"; fail "puppet did not report agent.yaml's change"; }
[[ $(grep -c 'changed' "$tmp/apply.log") == 1 ]] || { cat "$tmp/apply.log"; fail "more than agent.yaml changed"; }
[[ $(stat -c %Y "$root/etc/achilles/token") == "$before" ]] || fail "the token was rewritten"

# A token the agent would refuse is refused by the module, before anything is written.
rm -rf "$root"
skeleton
rc=$(apply "$(manifest 0123456789abcde 900000)")
[[ $rc == 1 ]] || { cat "$tmp/apply.log"; fail "an apply with a 15-byte token exited $rc, not 1"; }
grep -qF "achilles_agent: the token is 15 bytes long, fewer than 16 (the agent refuses it): make a longer one, e.g. \`openssl rand -hex 32\`" "$tmp/apply.log" ||
  { cat "$tmp/apply.log"; fail "no message about the short token"; }
[[ -z $(find "$root" -type f) && ! -e $root/etc/achilles ]] || fail "a refused apply wrote into $root"

# The token from a file instead (token_source), installed with the same mode and owner.
skeleton
token2=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$token2" >"$tmp/token-source")
rc=$(apply "$(manifest "" 900000 "token_source => '$tmp/token-source',")")
[[ $rc == 2 ]] || { cat "$tmp/apply.log"; fail "an apply with token_source exited $rc, not 2"; }
check_file "$root/etc/achilles/token" 600 "$me"
[[ $(cat "$root/etc/achilles/token") == "$token2" ]] || fail "the installed token is not token_source's"
rc=$(apply "$(manifest "$token" 900000 "token => '$token', token_source => '$tmp/token-source',")")
[[ $rc == 1 ]] && grep -qF "achilles_agent: give token or token_source, not both" "$tmp/apply.log" ||
  { cat "$tmp/apply.log"; fail "an apply with token and token_source: exit $rc"; }
echo "PASS: puppet apply installed a working agent, idempotently"
