#!/usr/bin/env bash
# Fuzzes the safetensors header parser with libFuzzer for a bounded time (default 60 s):
#   scripts/fuzz.sh [seconds]
# Builds fuzz/ with clang into build-fuzz/, seeds a scratch corpus with the malformed test
# files and the valid ones, and exits non-zero if libFuzzer finds a crash (the input that
# caused it is saved under build-fuzz/artifacts/).
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
jobs=${FUZZ_BUILD_JOBS:-2}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"

# A scratch copy: libFuzzer adds every input that reaches new code to its corpus directory,
# and the committed test data must stay as it is.
corpus=$build/corpus
mkdir -p "$corpus" "$build/artifacts"
cp "$root"/tests/data/safetensors/malformed/*.safetensors "$root"/tests/data/safetensors/valid/*.safetensors "$corpus"/

echo "fuzzing the safetensors header parser for ${seconds}s (corpus: $corpus)"
status=0
"$build/fuzz_safetensors" "$corpus" \
  -dict="$root/fuzz/safetensors.dict" \
  -max_total_time="$seconds" \
  -max_len=8192 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: libFuzzer found a failure (exit $status); inputs are in $build/artifacts/" >&2
  exit "$status"
fi
echo "fuzz.sh: no crash in ${seconds}s"
