#!/usr/bin/env bash
# Issue #4's speed target, in one run: nanoGPT's CPU shakespeare_char run (the peer,
# bench/peers/nanogpt_char.py on Debian's python3-torch) and then elarin's char-baby config
# on the same file and threads; prints both JSON lines and the whole-run speed ratio.
# Usage: bench/lm_vs_nanogpt.sh [build-dir] [threads]   (needs python3-torch python3-numpy)
set -euo pipefail
build="${1:-build}"
threads="${2:-2}"
data="${DATA:-../shared/data/tinyshakespeare.txt}"
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "the peer needs Debian's PyTorch: apt-get install python3-torch python3-numpy" >&2
  exit 2
fi
peer=$(THREADS="$threads" /usr/bin/python3 "$(dirname "$0")/peers/nanogpt_char.py" "$data" | tail -n 1)
ours=$("$build/elarin" --threads "$threads" train lm --config configs/lm/char-baby.yaml \
  --data "$data" --run bench-char-baby --json | tail -n 1)
echo "$peer"
echo "$ours"
/usr/bin/python3 -c "
import json, sys
p, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({'nanogpt_seconds': p['seconds'], 'nanogpt_val_loss': p['val_loss'],
                  'elarin_seconds': o['seconds'], 'elarin_val_loss': o['val_loss'],
                  'speed_ratio': p['seconds'] / o['seconds']}))" "$peer" "$ours"
