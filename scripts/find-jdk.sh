# Sourced by ./recur and bench/profile.sh: find_java prints the java of a JDK >= 25
# (JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm), or nothing.

# The feature version of the JDK at $1 (e.g. 25), or nothing if it is not a JDK.
jdk_version() {
  local home=$1 v=""
  [ -x "$home/bin/java" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  echo "$v"
}

find_java() {
  local v cand
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(jdk_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then echo "$JAVA_HOME/bin/java"; return; fi
  fi
  # newest first
  for cand in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    cand=${cand%/}
    v=$(jdk_version "$cand")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then echo "$cand/bin/java"; return; fi
  done
}
