#!/usr/bin/env bash
# The main job until the brain milestone lands (`make run`): shows what this machine runs
# with, checks the datasets, and runs the three pretrained encoders (the brain's retina,
# cochlea and Wernicke's area) on the Hugging Face reference fixtures.
set -euo pipefail
bin="${1:-build/elarin}"
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="${ELARIN_FIXTURES:-$root/../shared/fixtures}"

step() { printf '\n== %s\n' "$*"; }

step "elarin --version"
"$bin" --version
step "matmul speed with the BLAS in use"
"$bin" bench blas --size 1024
step "datasets"
"$bin" data fashion --split test
# The first command prints the resolved config on stderr; -q keeps the rest short.
"$bin" -q data mnist --split test
"$bin" -q data fortunes
"$bin" -q data speech --words yes,no --variants 3
if [ -d "$fixtures" ]; then
  step "Wernicke's area: GPT-2 hidden states (fixture gpt2-tiny)"
  "$bin" encode --model "$fixtures/gpt2-tiny" --ids 3,17,5,42 --output hidden --layer 2
  step "GPT-2 next-token logits"
  "$bin" encode --model "$fixtures/gpt2-tiny" --ids 3,17,5,42 --output logits
  step "Retina: CLIP image embedding of a Fashion-MNIST picture (PNG)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$bin" -q data fashion --split test --png "$tmp/item.png" | tail -n 1
  "$bin" encode --model "$fixtures/clip-vision-tiny" --image "$tmp/item.png"
  step "Cochlea: Whisper encoder on a spoken word (espeak-ng)"
  wav="$(find "$root/data/speech" -name '*.wav' 2>/dev/null | sort | head -n 1 || true)"
  if [ -n "$wav" ]; then
    "$bin" encode --model "$fixtures/whisper-encoder-tiny" --audio "$wav"
  fi
else
  echo "fixtures not found at $fixtures (set ELARIN_FIXTURES): skipping the encoders"
fi
