#!/usr/bin/env bash
# package_test.sh SOURCE_DIR: the Debian packages, for real. Builds achilles and achilles-agent
# with ./scripts/package (which also runs lintian on them), installs them into a fresh Debian 12
# root (debootstrap --variant=minbase bookworm, cached as a tarball in
# ${TMPDIR:-/tmp}/achilles-package-test, as ../shared/tools/fresh-check does) with
# `apt-get install ./dist/*.deb`, and checks there: `achilles analyze` on an installed sample,
# `achilles-agent --version`, the unit (installed, not enabled), the man pages, the completion,
# what postinst made (user, 0700 directories, 0600 token, kept on reinstall), the agent making
# its default directories itself when run by hand as root; then purges both and checks that
# nothing of theirs is left. Needs root and the network (apt fetches the dependencies).
# Skipped (77) when not root or without debootstrap.
# The in_root commands are single-quoted on purpose: they expand inside the root.
# shellcheck disable=SC2016
set -uo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
if [[ $(id -u) != 0 ]]; then
  echo "skipped: needs root (debootstrap, chroot, mounts)"
  exit 77
fi
if ! command -v debootstrap >/dev/null; then
  echo "skipped: debootstrap is not installed (Debian package debootstrap)"
  exit 77
fi

cache=${TMPDIR:-/tmp}/achilles-package-test
mkdir -p "$cache"
root=$(mktemp -d "$cache/root.XXXXXX")
# Every exit path: unmount what we mounted (never rm -rf through a mount), then remove the root.
cleanup() {
  local m
  for m in "$root/dev" "$root/proc"; do
    mountpoint -q "$m" && { umount -R "$m" 2>/dev/null || umount -R -l "$m"; }
  done
  if findmnt -rn -o TARGET | grep -q "^$root/"; then
    echo "error: mounts are left under $root; not removing it" >&2
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# in_root COMMAND: runs bash -c COMMAND in the fresh root, as root, with a clean environment.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}
# expect WHAT COMMAND: COMMAND (in the root) must succeed.
expect() {
  local out
  out=$(in_root "$2" 2>&1) || fail "$1 (ran: $2; said: $out)"
}

echo "== building the packages (./scripts/package, lintian included)"
(cd "$src" && ./scripts/package) >"$cache/package.log" 2>&1 || {
  echo "FAIL: ./scripts/package failed; the end of $cache/package.log:"
  tail -n 30 "$cache/package.log"
  exit 1
}
grep -E '^(lintian|W:|E:|N:)' "$cache/package.log" | grep -v '^N: *$' | head -20
debs=("$src"/dist/achilles_*.deb "$src"/dist/achilles-agent_*.deb)
if [[ ! -f ${debs[0]} || ! -f ${debs[1]} ]]; then
  echo "FAIL: dist/ lacks the two .debs"
  exit 1
fi

base=$cache/bookworm-base.tar
if [[ ! -s $base ]]; then
  echo "== making a minimal Debian 12 root (once; cached in $base)"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [[ -n $mirror ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  rm -rf --one-file-system "$cache/make"
  debootstrap --variant=minbase bookworm "$cache/make" ${mirror:+"$mirror"} >"$cache/debootstrap.log" 2>&1 || {
    echo "FAIL: debootstrap failed, see $cache/debootstrap.log"
    exit 1
  }
  tar -C "$cache/make" -cf "$base.part" . && mv "$base.part" "$base" && rm -rf --one-file-system "$cache/make"
fi
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/root/dist"
cp "${debs[@]}" "$root/root/dist/"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
# A slave copy: unmounting it later cannot propagate back to the host's /dev.
mount --make-rslave "$root/dev"

echo "== apt-get install ./dist/*.deb in the fresh root"
if ! in_root 'apt-get update -qq && cd /root && apt-get install -y -qq ./dist/*.deb' >"$cache/install.log" 2>&1; then
  echo "FAIL: installing the packages failed; the end of $cache/install.log:"
  tail -n 30 "$cache/install.log"
  exit 1
fi
grep -F 'achilles-agent:' "$cache/install.log"

echo "== the installed tools"
out=$(in_root 'achilles analyze /usr/share/achilles/topologies/three-tier.yaml' 2>&1)
code=$?
((code == 0)) || fail "achilles analyze on an installed sample exited $code: $out"
grep -q spof <<<"$out" || fail "achilles analyze printed no finding: $out"
echo "$out" | head -n 5
version=$(in_root 'achilles-agent --version' 2>&1)
[[ $version == "achilles-agent $(awk -F'[ )]' '/^project\(achilles VERSION/ {print $3}' "$src/CMakeLists.txt")" ]] ||
  fail "achilles-agent --version said '$version'"
echo "achilles-agent --version: $version"

echo "== files in place"
expect "the unit is installed and starts the installed binary" \
  'grep -qxF "ExecStart=/usr/bin/achilles-agent --config /etc/achilles/agent.yaml \\" /lib/systemd/system/achilles-agent.service'
expect "the unit is not enabled" \
  '! ls /etc/systemd/system/*.wants/achilles-agent.service 2>/dev/null | grep -q .'
expect "the man pages are compressed and say what the programs do" \
  'zcat /usr/share/man/man1/achilles.1.gz | grep -q "achilles drill run" && zcat /usr/share/man/man1/achilles-agent.1.gz | grep -q "tls\\\\-client\\\\-ca"'
expect "the completions are in place and parse" \
  'bash -n /usr/share/bash-completion/completions/achilles && bash -n /usr/share/bash-completion/completions/achilles-agent'
expect "the samples and docs are in place" \
  'test -f /usr/share/achilles/topologies/campaign-2012.yaml && test -f /usr/share/doc/achilles/README.md && test -f /usr/share/doc/achilles-agent/agent.md && test -f /usr/share/doc/achilles/copyright && test -f /usr/share/doc/achilles-agent/changelog.gz'
expect "/etc/achilles/agent.yaml is a conffile" \
  'dpkg-query -W -f="\${Conffiles}" achilles-agent | grep -q "^ /etc/achilles/agent.yaml "'
expect "postinst made the user and the 0700 directories it owns" \
  'getent passwd achilles >/dev/null && test "$(stat -c "%a %U" /var/lib/achilles /var/log/achilles | sort -u)" = "700 achilles"'
expect "postinst made a random 0600 token" \
  'test "$(stat -c "%a %U" /etc/achilles/token)" = "600 achilles" && grep -qxE "[0-9a-f]{64}" /etc/achilles/token'
expect "a reinstall keeps the token" \
  'before=$(cat /etc/achilles/token) && cd /root && apt-get install -y -qq --reinstall ./dist/achilles-agent_*.deb >/dev/null && test "$(cat /etc/achilles/token)" = "$before"'
# By hand, as root, with the default paths: the agent makes its directories (0700) itself. The
# listen address is a documentation address that no host has, so it stops at bind() (exit 3)
# after making them, having sent nothing.
expect "the agent run by hand as root makes its default directories 0700" \
  'rm -rf /var/lib/achilles /var/log/achilles
   achilles-agent --token-file /etc/achilles/token --listen 192.0.2.1:8474 2>/tmp/err; code=$?
   test $code = 3 && grep -q "cannot listen on 192.0.2.1:8474" /tmp/err &&
   test "$(stat -c %a /var/lib/achilles /var/log/achilles | sort -u)" = 700'
expect "the agent names the flag when a directory is missing" \
  'achilles-agent --token-file /etc/achilles/token --state-file /nowhere/state.json 2>&1 |
   grep -qxF "achilles-agent: error: the state directory '"'"'/nowhere'"'"' does not exist: create it (mode 0700), or choose another file with --state-file"'

echo "== apt-get purge"
in_root 'apt-get purge -y -qq achilles achilles-agent' >"$cache/purge.log" 2>&1 || {
  fail "purging failed; see $cache/purge.log"
}
left=$(in_root 'find / -xdev -path /root/dist -prune -o -path /proc -prune -o -name "*achilles*" -print' 2>&1)
[[ -z $left ]] || fail "left after the purge: $(tr '\n' ' ' <<<"$left")"
expect "the user and group are gone" '! getent passwd achilles && ! getent group achilles'
expect "dpkg knows neither package" \
  '! dpkg-query -W -f="\${db:Status-Abbrev}\n" achilles achilles-agent 2>/dev/null | grep -q "^[a-z]i"'

if ((failures)); then
  echo "$failures failures"
  exit 1
fi
echo "ok: built, lintian-clean, installed into a fresh Debian 12, used, purged, nothing left"
