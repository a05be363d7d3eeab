#!/usr/bin/env bash
# Starts or stops a throwaway ZooKeeper server on a free loopback port for the tests.
#   eval "$(scripts/zookeeper.sh start)"   # exports AURORA_TEST_ZK=127.0.0.1:PORT
#   scripts/zookeeper.sh stop
# Needs Debian's `zookeeper` package (apt-get install zookeeper) and Java.
set -euo pipefail
state=${AURORA_TEST_ZK_DIR:-${TMPDIR:-/tmp}/aurora-apply-zk}

case "${1:-}" in
start)
  jar=/usr/share/java/zookeeper.jar
  [ -f "$jar" ] || { echo "ZooKeeper not installed: apt-get install zookeeper" >&2; exit 1; }
  "$0" stop >/dev/null 2>&1 || true
  rm -rf "$state" && mkdir -p "$state/data"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$state/zoo.cfg" <<CFG
tickTime=2000
dataDir=$state/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
CFG
  java -cp "$jar:/usr/share/java/*" -Dzookeeper.log.dir="$state" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$state/zoo.cfg" >"$state/server.log" 2>&1 &
  echo $! >"$state/pid"
  # Wait for the port with a deadline (ZooKeeper usually accepts within a second).
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
      echo "export AURORA_TEST_ZK=127.0.0.1:$port"
      exit 0
    fi
    kill -0 "$(cat "$state/pid")" 2>/dev/null || { cat "$state/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "ZooKeeper did not open port $port within 30 s" >&2
  cat "$state/server.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
