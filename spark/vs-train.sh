#!/usr/bin/env bash
# Spark's speed against one machine's, the issue's way: `recur train --threads 2` and `recur spark
# train --master local[2] --partitions 2` on the same global batch (B = 64, H = 256, T = 100 by
# default), alternated PAIRS times, ITERS iterations each (400 by default); both are timed over
# the same windows after the JIT's warm-up (iterations ITERS-200 to ITERS-100 and ITERS-100 to
# ITERS), the plain run's from the cumulative it/s it prints every 100 iterations, Spark's from its
# own iteration lines. Prints every window and the median ratio of Spark's tokens/s to the plain run's.
#
#   spark/vs-train.sh [PAIRS] [more options for both, e.g. --cell gru]
#   H=512 for another hidden size; ITERS=1200 for a later steady state; SPARK_OPTS="..." adds options to the Spark run only
#   (e.g. --no-overlap); RECUR_JAVA_OPTS reaches both JVMs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pairs=${1:-3}
shift || true
iters=${ITERS:-400}
if (( iters < 300 || iters % 100 != 0 )); then echo "vs-train.sh: ITERS = $iters, expected a multiple of 100, at least 300" >&2; exit 2; fi
a=$((iters - 200)) b=$((iters - 100)) c=$iters
common=(--hidden "${H:-256}" --seq-len 100 --batch 64 --iters "$iters" --log-every 100 "$@")
read -r -a spark_opts <<< "${SPARK_OPTS:-}"
out=$(mktemp -d)
ratios=()
for ((r = 1; r <= pairs; r++)); do
  "$root/recur" train "${common[@]}" --threads 2 --sample 0 > "$out/plain-$r.txt" 2>&1
  "$root/recur" spark train --master 'local[2]' --partitions 2 "${common[@]}" "${spark_opts[@]}" > "$out/spark-$r.txt" 2>&1
  # plain: "iter K/ITERS ... X it/s": the time at K is K / X
  read -r p1 p2 < <(awk -v a=$a -v b=$b -v c=$c '/^iter [0-9]+\//{split($2,k,"/"); for(i=1;i<=NF;i++) if($(i+1)=="it/s") t[k[1]]=k[1]/$i}
      END{printf "%.2f %.2f\n", (t[b]-t[a])*10, (t[c]-t[b])*10}' "$out/plain-$r.txt")
  # spark: "iter K/ITERS ... N ms/iter = compute C + spark S + driver D"
  mapfile -t s < <(awk -v b=$b -v c=$c '/^iter [0-9]+\//{split($2,k,"/"); if (k[1]==b || k[1]==c) for(i=1;i<=NF;i++) if($(i+1)=="ms/iter") print $i" ("$(i+4)" + "$(i+7)" + "$(i+10)")"}' "$out/spark-$r.txt")
  for w in 0 1; do
    pw=$([ $w = 0 ] && echo "$p1" || echo "$p2")
    sw=${s[$w]%% *}
    ratio=$(awk -v p="$pw" -v q="$sw" 'BEGIN{printf "%.2f", p/q}')
    ratios+=("$ratio")
    echo "pair $r window $((a + 100 * w))-$((b + 100 * w)): plain $pw ms/iter, spark ${s[$w]} ms/iter (compute + spark + driver): ${ratio}x"
  done
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2;
  printf "spark / plain tokens/s over %d windows: %.2f-%.2fx, median %.2fx\n", NR, a[1], a[NR], m}'
echo "runs' output: $out"
