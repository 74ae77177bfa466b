#!/usr/bin/env bash
# End-to-end profile: recur beside its peers (PyTorch, oneDNN, Deeplearning4j) on the cases of
# bench/peers/cases.json (defined in bench/peers/CASES.md).
#
#   bench/profile.sh [OUTDIR]          (default bench/results/<date>T<time>)
#
# Runs ROUNDS rounds. Each round runs recur's JMH BpttBench (vector at 1 and 2 threads, the
# scalar baseline at 1 thread), then each available peer at 1 and 2 threads, so recur and the
# peers alternate in time and share the machine's drift. Before each timed program it waits
# (up to QUIET_WAIT s) until other processes use less than PEER_QUIET cores. Finally Report
# writes OUTDIR/profile.md (medians over rounds, recur/best peer, each peer's versions) and the
# chart OUTDIR/profile.png and .svg.
#
# It installs and builds no peer: a missing one is skipped with one line saying what to
# install or build, and the rest run. Each peer's own correctness check runs once first
# (torch_peer.py --check, onednn_peer check, Dl4jInfo); a peer whose check fails is skipped.
#
# Environment:
#   ROUNDS      rounds (default 3)
#   CASES       comma list of case ids (default: every case of cases.json); each program runs
#               the ones it supports (recur's BpttBench: those of its case parameter)
#   PEER=0      no peers; TORCH=0, ONEDNN=0, DL4J=0 skip one peer
#   SCALAR=0    no scalar baseline (it takes seconds per operation on the large cases)
#   PEER_MIN_TIME  timed seconds per case for the PyTorch and oneDNN peers (default 2)
#   PEER_QUIET  max foreign CPU load in cores before each timed program (default 0.3; off: no wait)
#   QUIET_WAIT  longest wait for that, seconds (default 60)
#   JMH_ARGS    JMH options for recur's BpttBench (default -f 1 -wi 2 -w 1 -i 3 -r 1; replaced
#               when set, since JMH takes each option once)
#   DL4J_JMH_ARGS  extra JMH options for DL4J's Dl4jBench (its defaults: 2 warm-up and 3
#               measured iterations of 2 s, one fork per case and thread count)
#   CONFIGS     old name of CASES (still read)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-bench/results/$(date -u +%Y-%m-%dT%H%M)}
rounds=${ROUNDS:-3}
peers_dir=bench/peers
cases_file=$peers_dir/cases.json
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
min_time=${PEER_MIN_TIME:-2}
quiet=${PEER_QUIET:-0.3}
quiet_wait=${QUIET_WAIT:-60}

say() { echo "profile: $*" >&2; }
die() { say "$*"; exit 2; }

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS '$rounds': expected an integer >= 1"
[[ "$min_time" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "PEER_MIN_TIME '$min_time': expected seconds"
[ -f "$cases_file" ] || die "cases file $cases_file: not found (run from a checkout of recur)"

# The case ids of cases.json: one case per line there, so no JSON tool is needed.
all_cases=$(grep -o '"id": "[^"]*"' "$cases_file" | cut -d'"' -f4 | paste -sd, -)
cases=${CASES:-${CONFIGS:-$all_cases}}
for c in ${cases//,/ }; do
  [[ ",$all_cases," == *",$c,"* ]] || die "CASES: unknown case id '$c', expected some of $all_cases"
done

# intersect LIST ALLOWED: the ids of LIST (in order) that ALLOWED has, comma-separated
intersect() {
  local c r=""
  for c in ${1//,/ }; do [[ ",$2," == *",$c,"* ]] && r+="${r:+,}$c"; done
  echo "$r"
}

# The case parameter of a JMH benchmark and its values, from `-lp`: "NAME VALUES" (VALUES comma list).
jmh_case_param() {
  "$java" -jar "$1" "$2" -lp 2>/dev/null |
    sed -n 's/^ *param "\(case\|caseId\|id\|config\)" = {\(.*\)}$/\1|\2/p' | head -n 1 | tr -d ' ' | tr '|' ' '
}

# Foreign CPU load in cores over one second (nothing of ours runs while it is measured).
foreign_load() {
  local a b
  a=$(head -n 1 /proc/stat)
  sleep 1
  b=$(head -n 1 /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN {
    split(a, x); split(b, y); t = 0; idle = 0
    for (i = 2; i <= 9; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.2f", (t > 0 ? (t - idle) * n / t : 0) }'
}

wait_quiet() {
  [ "$quiet" = off ] && return 0
  local start=$SECONDS load
  while :; do
    load=$(foreign_load)
    awk -v l="$load" -v q="$quiet" 'BEGIN { exit !(l < q) }' && return 0
    if (( SECONDS - start >= quiet_wait )); then
      say "machine still busy ($load cores of other load) after ${quiet_wait}s; timing anyway"
      return 0
    fi
  done
}

mkdir -p "$out"

# shellcheck source=../scripts/find-jdk.sh
source "$root/scripts/find-jdk.sh"
java=$(find_java)
[ -n "$java" ] || die "no JDK 25 found (see README requirements)"
jar=bench/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  say "building $jar"
  mvn -q -pl bench -am package -DskipTests >&2
fi

# ---- recur: which cases BpttBench knows, under which parameter name
read -r recur_param recur_known <<<"$(jmh_case_param "$jar" BpttBench)"
[ -n "${recur_param:-}" ] || die "BpttBench in $jar has no case parameter (rebuild: mvn -pl bench -am package)"
recur_cases=$(intersect "$cases" "$recur_known")
[ -n "$recur_cases" ] || say "recur's BpttBench knows none of CASES ($recur_known); the table has peers only"
missing=$(for c in ${cases//,/ }; do [[ ",$recur_known," == *",$c,"* ]] || echo -n "$c "; done)
[ -z "$missing" ] || say "recur's BpttBench has no case ${missing% } yet: peers only there"

# ---- peers: available, checked
torch_ok=0 onednn_ok=0 dl4j_ok=0
malloc_env=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)
if [ "${PEER:-1}" = 0 ]; then
  say "peers not run (PEER=0)"
else
  if [ "${TORCH:-1}" = 0 ]; then
    say "PyTorch peer not run (TORCH=0)"
  elif ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    say "PyTorch peer not run: /usr/bin/python3 has no torch (apt-get install python3-torch libopenblas0-openmp)"
  elif [ ! -d "$openblas" ]; then
    say "PyTorch peer not run: no OpenBLAS at $openblas (apt-get install libopenblas0-openmp)"
  elif env "${malloc_env[@]}" LD_LIBRARY_PATH=$openblas /usr/bin/python3 $peers_dir/torch_peer.py --check >"$out/torch-check.log" 2>&1; then
    torch_ok=1
  else
    say "PyTorch peer not run: its check failed (see $out/torch-check.log)"
  fi

  onednn_bin=$peers_dir/onednn/onednn_peer
  if [ "${ONEDNN:-1}" = 0 ]; then
    say "oneDNN peer not run (ONEDNN=0)"
  elif [ ! -x "$onednn_bin" ]; then
    if [ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || [ -f /usr/include/dnnl.hpp ]; then
      say "oneDNN peer not run: build it with make -C $peers_dir/onednn"
    else
      say "oneDNN peer not run: apt-get install libdnnl-dev g++, then make -C $peers_dir/onednn"
    fi
  else
    [ "$onednn_bin" -nt $peers_dir/onednn/onednn_peer.cpp ] ||
      say "note: $onednn_bin is older than its source; make -C $peers_dir/onednn rebuilds it"
    if "$onednn_bin" check >"$out/onednn-check.log" 2>&1; then
      onednn_ok=1
    else
      say "oneDNN peer not run: its check failed (see $out/onednn-check.log)"
    fi
  fi

  dl4j_jar=bench-dl4j/target/benchmarks-dl4j.jar
  if [ "${DL4J:-1}" = 0 ]; then
    say "DL4J peer not run (DL4J=0)"
  elif [ ! -f "$dl4j_jar" ]; then
    say "DL4J peer not run: build it with mvn -B -q -Pdl4j -pl bench-dl4j -am package -DskipTests (downloads ND4J, ~150 MB)"
  else
    read -r _ dl4j_known <<<"$(jmh_case_param "$dl4j_jar" Dl4jBench)"
    dl4j_cases=$(intersect "$cases" "${dl4j_known:-}")
    if [ -z "$dl4j_cases" ]; then
      say "DL4J peer not run: it supports none of CASES (it has ${dl4j_known:-nothing})"
    elif "$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
        -cp "$dl4j_jar" dev.recur.bench.dl4j.Dl4jInfo 1 >"$out/dl4j-info.json" 2>"$out/dl4j-info.log"; then
      dl4j_ok=1
    else
      say "DL4J peer not run: its check failed (see $out/dl4j-info.json and .log)"
      mv "$out/dl4j-info.json" "$out/dl4j-info.failed" 2>/dev/null || true
    fi
  fi
fi

# shellcheck disable=SC2086  # JMH_ARGS is a list of options
jmh() { "$java" --sun-misc-unsafe-memory-access=allow -jar "$jar" BpttBench -p "$recur_param=$recur_cases" ${JMH_ARGS:--f 1 -wi 2 -w 1 -i 3 -r 1} "$@"; }

for r in $(seq 1 "$rounds"); do
  if [ -n "$recur_cases" ]; then
    say "round $r/$rounds: recur"
    wait_quiet
    jmh -p kernels=vector -p threads=1,2 -rf json -rff "$out/recur-vector-r$r.json" >"$out/recur-vector-r$r.log"
    if [ "${SCALAR:-1}" != 0 ]; then
      wait_quiet
      jmh -p kernels=scalar -p threads=1 -rf json -rff "$out/recur-scalar-r$r.json" >"$out/recur-scalar-r$r.log"
    fi
  fi
  for t in 1 2; do
    if [ "$torch_ok" = 1 ]; then
      say "round $r/$rounds: PyTorch, $t thread(s)"
      wait_quiet
      env "${malloc_env[@]}" LD_LIBRARY_PATH=$openblas /usr/bin/python3 $peers_dir/torch_peer.py --threads "$t" \
        --cases "$cases" --min-time "$min_time" --out "$out/torch-t$t-r$r.json" 2>"$out/torch-t$t-r$r.log"
    fi
    if [ "$onednn_ok" = 1 ]; then
      say "round $r/$rounds: oneDNN, $t thread(s)"
      wait_quiet
      OMP_NUM_THREADS=$t "$onednn_bin" --threads "$t" --cases "$cases" --min-time "$min_time" \
        >"$out/onednn-t$t-r$r.jsonl" 2>"$out/onednn-t$t-r$r.log"
    fi
  done
  if [ "$dl4j_ok" = 1 ]; then
    say "round $r/$rounds: DL4J"
    wait_quiet
    # shellcheck disable=SC2086  # DL4J_JMH_ARGS is a list of options
    "$java" --sun-misc-unsafe-memory-access=allow -jar "$dl4j_jar" Dl4jBench -p caseId="$dl4j_cases" -p threads=1,2 \
      ${DL4J_JMH_ARGS:-} -rf json -rff "$out/dl4j-r$r.json" >"$out/dl4j-r$r.log" 2>&1
    # what each fork's libraries said about their threads, and the CPU time it really used
    grep -o 'dl4j threads:.*' "$out/dl4j-r$r.log" >&2 || say "DL4J wrote no thread report (see $out/dl4j-r$r.log)"
  fi
done

shopt -s nullglob
results=("$out"/recur-*.json "$out"/torch-t*.json "$out"/onednn-t*.jsonl "$out"/dl4j-r*.json)
[ -f "$out/dl4j-info.json" ] && results+=("$out/dl4j-info.json")   # not a glob: nullglob would not drop it
[ ${#results[@]} -gt 0 ] || die "no results in $out"
"$java" -cp "$jar" dev.recur.bench.Report --chart "$out/profile" "${results[@]}" >"$out/profile.md"
say "wrote $out/profile.md, $out/profile.png and $out/profile.svg"
cat "$out/profile.md"
