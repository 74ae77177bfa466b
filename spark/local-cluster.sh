#!/usr/bin/env bash
# Runs recur-spark.jar under spark-submit on a standalone cluster on this machine:
# local-cluster[EXECUTORS,1,1024] starts a master, workers and one executor JVM per worker,
# all bound to 127.0.0.1, with Spark's jars from the local Maven repository (no Spark download).
# The cluster path of the README, for trying it without a cluster:
#
#   spark/local-cluster.sh 3 train --iters 20 --save /tmp/m.npz
#
# (the model is byte for byte the one ./recur spark train --iters 20 --save ... makes on local[2]).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
executors=${1:?usage: spark/local-cluster.sh EXECUTORS train|grad [OPTIONS]}
shift
# shellcheck source=../scripts/find-jdk.sh
source "$root/scripts/find-jdk.sh"
java=$(find_java)
[ -n "$java" ] || { echo "local-cluster.sh: no JDK 25 or newer found" >&2; exit 1; }
[ -f "$root/spark/target/recur-spark.jar" ] || (cd "$root" && mvn -q -pl spark -am package -DskipTests) >&2
# a SPARK_HOME whose jars/ are links to the jars of spark/target/spark-classpath.txt
home="$root/spark/target/spark-home"
if [ ! -d "$home/jars" ]; then
  mkdir -p "$home/jars"
  touch "$home/RELEASE"
  tr ':' '\n' < "$root/spark/target/spark-classpath.txt" | while read -r j; do ln -sf "$j" "$home/jars/"; done
fi
export SPARK_HOME="$home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
export JAVA_HOME=$(dirname "$(dirname "$java")")
exec "$java" @"$root/spark/jvm.options" -Dlog4j2.configurationFile="$root/spark/conf/log4j2.properties" \
  -cp "$home/jars/*" org.apache.spark.deploy.SparkSubmit \
  --class dev.recur.spark.SparkMain --master "local-cluster[$executors,1,1024]" \
  --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 --conf spark.ui.enabled=false \
  --conf spark.executor.extraJavaOptions=--add-modules=jdk.incubator.vector \
  "$root/spark/target/recur-spark.jar" "$@"
