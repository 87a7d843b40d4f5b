#!/usr/bin/env bash
# Runs every benchmark of the current milestone and prints one JSON line each.
# Usage: bench/run_all.sh [build-dir]. Figures go into docs/BENCHMARKS.md with this command.
set -euo pipefail
build="${1:-build}"
"$build/elarin" bench blas --size 1024 --repeats 10 --json | tail -n 1
"$build/elarin" bench blas --size 2048 --repeats 5 --json | tail -n 1
"$build/elarin" bench moe --experts 8 --top-k 2 --batch 256 --json | tail -n 1
# elarin serve: continuous batching (8 streams vs 1), HTTP vs in-process decoding, 2,000 chat
# requests 32 at a time, peak RSS (npm's openai client; make bench installs it).
ELARIN="$build/elarin" node bench/serve.mjs | tail -n 1
