#!/bin/bash
# Configs 5 and 6 (B = 64) with recur and oneDNN run back to back, three rounds: recur bench at
# 1 and 2 threads (timed batches alternating, with the FMA loop's 2-together/1 ratio), then the
# oneDNN peer at 1 and at 2 threads. Run from anywhere; needs the built oneDNN peer
# (bench/peers/onednn/README.md). Output: batched-side-by-side.txt's lines.
set -euo pipefail
cd "$(dirname "$0")/../../.."
for round in 1 2 3; do
  for c in "5 512 64 200 tanh" "6 1024 64 100 tanh"; do
    set -- $c
    r=$(./recur bench --hidden "$2" --batch "$3" --steps "$4" --activation "$5" --threads 2 --one-thread-too \
          --kernels vector --repeats 10 --warmup 5 --json 2>/dev/null | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin if l.strip()]
one = [r for r in rs if r['threads'] == 1][0]; two = [r for r in rs if r['threads'] == 2][0]
print(round(one['steps_per_s']), round(two['steps_per_s']), two.get('threads_peak_ratio'))")
    peer() { OMP_NUM_THREADS=$1 bench/peers/onednn/onednn_peer --cases "$2" --min-time 4 2>/dev/null |
               python3 -c "import json, sys; print(round(json.loads(sys.stdin.readline())['steps_per_s']))"; }
    echo "round $round config $1: recur 1thr 2thr fmaRatio = $r | oneDNN 1thr 2thr = $(peer 1 "$1") $(peer 2 "$1")"
  done
done
