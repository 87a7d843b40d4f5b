#!/usr/bin/env bash
# The main job (`make run`): the brain of configs/default.yaml names what it sees, hears and
# reads (MNIST digits, Fashion-MNIST clothes, spoken and written names) and learns from reward
# alone (a critic that knows the labels). The first run grows the brain and develops its
# senses without labels (about two minutes); later runs resume from state/.
# `elarin wipe --yes` starts over.
set -euo pipefail
bin="${1:-build/elarin}"
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "elarin --version"
"$bin" --version
step "elarin brain --headless --json"
"$bin" brain --headless --json
