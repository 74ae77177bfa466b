#!/usr/bin/env bash
# Quick end-to-end profile, recur beside the PyTorch peer, in about 20 minutes on 2 cores.
#
#   bench/profile.sh [OUTDIR]          (default bench/results/<date>)
#
# Runs ROUNDS (default 3) rounds; each round runs JMH BpttBench on the configs of
# ../shared/peers/CONFIGS.md (vector at 1 and 2 threads, the scalar baseline at 1 thread,
# shorter T for scalar) and then, when python3-torch is installed, the peer script
# ../shared/peers/torch_rnn_bench.py at 1 and 2 threads, so recur and the peer alternate in
# time and share the machine's drift. Finally Report turns the JSON files into OUTDIR/profile.md:
# medians over rounds, vector/scalar, 2 threads/1, GFLOP/s, % of sgemm peak, recur/peer.
#
# Environment: ROUNDS, CONFIGS (comma list of indices, default all), PEER=0 to skip the peer,
# JMH_ARGS (extra JMH options), PEER_QUIET (max foreign load in cores before the peer times,
# default 0.3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-bench/results/$(date -u +%Y-%m-%dT%H%M)}
rounds=${ROUNDS:-3}
configs=${CONFIGS:-0,1,2,3,4,5,6,7,8}
peers="$root/../shared/peers"
mkdir -p "$out"

# shellcheck source=../scripts/find-jdk.sh
source "$root/scripts/find-jdk.sh"
java=$(find_java)
[ -n "$java" ] || { echo "profile: no JDK 25 found (see README requirements)" >&2; exit 1; }
jar=bench/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  echo "profile: building $jar" >&2
  mvn -q -pl bench -am package -DskipTests >&2
fi

peer_ok=0
if [ "${PEER:-1}" != 0 ] && [ -f "$peers/torch_rnn_bench.py" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  peer_ok=1
else
  echo "profile: PyTorch peer not run (PEER=0, or /usr/bin/python3 has no torch: apt-get install python3-torch libopenblas0-openmp); the table quotes CONFIGS.md instead" >&2
fi
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp

jmh() { "$java" -jar "$jar" BpttBench -p config="$configs" -f 1 -wi 2 -w 1 -i 3 -r 1 ${JMH_ARGS:-} "$@"; }

for r in $(seq 1 "$rounds"); do
  echo "== round $r/$rounds: recur" >&2
  jmh -p kernels=vector -p threads=1,2 -rf json -rff "$out/recur-vector-r$r.json" >"$out/recur-vector-r$r.log"
  jmh -p kernels=scalar -p threads=1 -rf json -rff "$out/recur-scalar-r$r.json" >"$out/recur-scalar-r$r.log"
  if [ "$peer_ok" = 1 ]; then
    echo "== round $r/$rounds: PyTorch peer" >&2
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \
    LD_LIBRARY_PATH=$openblas /usr/bin/python3 "$peers/torch_rnn_bench.py" --threads 1 --only "$configs" \
      --no-fwd --min-time 1 --quiet "${PEER_QUIET:-0.3}" --max-wait 60 --out "$out/torch-t1-r$r.json" >"$out/torch-t1-r$r.log"
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \
    LD_LIBRARY_PATH=$openblas /usr/bin/python3 "$peers/torch_rnn_bench.py" --threads 2 --only "$configs" \
      --no-fwd --min-time 1 --quiet "${PEER_QUIET:-0.3}" --max-wait 60 --out "$out/torch-t2-r$r.json" >"$out/torch-t2-r$r.log"
  fi
done
"$java" -cp "$jar" dev.recur.bench.Report "$out"/*.json >"$out/profile.md"
echo "profile: wrote $out/profile.md" >&2
cat "$out/profile.md"
