# Shared by scripts/quickstart and scripts/test: install what is missing, then build.
# Safe to run again: apt-get is skipped when every package is there, and the build is incremental.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian 12 packages the build, the tests and the benchmarks need. puppet and the Go packages are
# for tests/deploy: `puppet apply` of the Puppet module, and the Helm chart rendered with Helm's
# own libraries (text/template, sprig, sigs.k8s.io/yaml, gojsonschema; tests/deploy/helm/engine.go).
PACKAGES=(
  cmake g++ make pkg-config ca-certificates
  libboost-graph-dev libgraphviz-dev graphviz nlohmann-json3-dev libasio-dev
  libyaml-cpp-dev catch2 libssl-dev libhowardhinnant-date-dev tzdata libre2-dev
  clang-format clang-14 libfuzzer-14-dev python3 python3-networkx python3-yaml
  socat curl procps nodejs chromium scram haproxy systemd
  help2man bash-completion dpkg-dev lintian debootstrap prometheus
  puppet golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
  golang-github-xeipuuv-gojsonschema-dev libnftables-dev iproute2
)

# What building alone needs (./scripts/package), and what packaging adds: man pages, the .debs'
# dependencies (dpkg-shlibdeps in dpkg-dev), their check, and the completion test's helpers.
PACKAGES_BUILD=(
  cmake g++ make pkg-config
  libboost-graph-dev libgraphviz-dev nlohmann-json3-dev libasio-dev libyaml-cpp-dev libssl-dev
  libhowardhinnant-date-dev libre2-dev libnftables-dev
)
PACKAGES_PACKAGING=(help2man dpkg-dev lintian bash-completion)

# install_missing [PACKAGE...]: installs those (default: PACKAGES) that are not installed.
install_missing() {
  local wanted=("$@") missing=()
  ((${#wanted[@]})) || wanted=("${PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    if [[ $(id -u) != 0 ]]; then
      echo "error: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
      exit 3
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# build DIR [cmake args...]: configure once, then build with every core.
build() {
  local dir=$1
  shift
  if [[ ! -f $dir/CMakeCache.txt ]]; then
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  fi
  cmake --build "$dir" -j "$(nproc)"
}

# The Toxiproxy client compatibility test drives the agent with the npm package
# toxiproxy-node-client, installed from the lock file into tests/injector/node.
install_node_test_deps() {
  if ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  if [[ ! -d tests/injector/node/node_modules ]]; then
    # Without the package the test reports itself skipped; the rest of the suite still runs.
    if ! (cd tests/injector/node && npm ci --no-audit --no-fund --loglevel=error); then
      rm -rf tests/injector/node/node_modules
      echo "warning: could not install toxiproxy-node-client from the npm registry;" \
        "the Toxiproxy client compatibility test will be skipped" >&2
    fi
  fi
}
