# Shared by the bench scripts (sourced): `log` to stderr, and `ACHILLES`, the achilles binary
# of the Release build in $BUILD, rebuilt first so that a benchmark never times stale code.
log() { echo "bench: $*" >&2; }

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  echo "bench: error: no build in '$BUILD'; configure one first:" >&2
  echo "  cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release" >&2
  exit 2
fi
log "building achilles in $BUILD"
cmake --build "$BUILD" --target achilles -j2 >&2
ACHILLES=$BUILD/cli/achilles
