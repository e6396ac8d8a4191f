#!/bin/bash
# Runs one Go test of the Helm chart's tests (chart_test.go) for ctest:
#   run.sh GOCACHE_DIR TEST_FUNCTION [AGENT]
# AGENT, the built achilles-agent, is for the test that starts it on the chart's configuration.
# The Go toolchain and the libraries of Helm's rendering come from Debian (golang-go,
# golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev,
# golang-github-xeipuuv-gojsonschema-dev; scripts/common.sh installs them), in GOPATH mode, so
# nothing is fetched; without them the test says so and is skipped (77).
set -euo pipefail
cache=$1 test=$2
export ACHILLES_AGENT=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gopath=/usr/share/gocode
if ! command -v go >/dev/null; then
  echo "SKIP: no go command (Debian package golang-go; scripts/setup installs it)"
  exit 77
fi
for lib in github.com/Masterminds/sprig sigs.k8s.io/yaml github.com/xeipuuv/gojsonschema; do
  if [[ ! -d $gopath/src/$lib ]]; then
    echo "SKIP: the Go library $lib is not in $gopath (its Debian -dev package; scripts/setup installs it)"
    exit 77
  fi
done
mkdir -p "$cache"
cd "$here"
# -count=1: the chart's files are read at run time, which Go's test cache would not notice.
GO111MODULE=off GOPATH=$gopath GOCACHE=$cache GOENV=off GOFLAGS= GOPROXY=off \
  exec go test -count=1 -v -run "^${test}\$" .
