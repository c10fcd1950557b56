#!/usr/bin/env bash
# The README's main job at this stage: a control plane with its embedded etcd,
# the example manifests applied with kubectl, and kubectl reading them back.
#   deploy/quickstart.sh        start (or reuse) the control plane and apply the examples
#   deploy/quickstart.sh down   stop the control plane this script started (its data stays)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${SHOAL_DATA_DIR:-/var/lib/shoal/quickstart}
LISTEN=${SHOAL_LISTEN:-127.0.0.1:6443}
PIDFILE="$DATA_DIR/controlplane.pid"
KUBECONFIG_FILE="$DATA_DIR/admin.kubeconfig"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

if [ "${1:-up}" = "down" ]; then
  if running; then
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "control plane (pid $pid) stopped; data kept in $DATA_DIR"
  else
    echo "no control plane started by this script is running"
  fi
  rm -f "$PIDFILE"
  exit 0
fi

mkdir -p "$DATA_DIR"
if running; then
  echo "control plane already running (pid $(cat "$PIDFILE"))"
else
  nohup node dist/cli/main.js controlplane --data-dir "$DATA_DIR" --listen "$LISTEN" \
    >>"$DATA_DIR/controlplane.log" 2>&1 &
  echo $! >"$PIDFILE"
  echo "control plane starting (pid $!, log $DATA_DIR/controlplane.log)"
fi
for _ in $(seq 1 150); do
  if [ -f "$KUBECONFIG_FILE" ] && kubectl --kubeconfig "$KUBECONFIG_FILE" get --raw /readyz >/dev/null 2>&1; then break; fi
  running || { echo "control plane exited; see $DATA_DIR/controlplane.log" >&2; tail -20 "$DATA_DIR/controlplane.log" >&2; exit 1; }
  sleep 0.2
done
export KUBECONFIG="$KUBECONFIG_FILE"
set -x
kubectl version
kubectl apply -f deploy/examples/
kubectl get deployments,services,configmaps,jobs,daemonsets -o wide
kubectl get deployment web -o yaml
{ set +x; } 2>/dev/null
echo
echo "Use it:    export KUBECONFIG=$KUBECONFIG_FILE; kubectl get all"
echo "Stop it:   deploy/quickstart.sh down"
echo "(No node agents are running yet: pods stay Pending until agents join.)"
