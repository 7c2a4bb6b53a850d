#!/usr/bin/env bash
# make team-demo: team mode end to end on this machine. A Temporal dev server on loopback (its SQLite file under
# $ASRCTL_HOME/team-demo), two workers, a drill that pauses at its manual action, the approval from a second shell
# with another ASRCTL_HOME, and the finished run seen from both. Every process it starts is stopped by its pid.
set -euo pipefail

BIN=${BIN:-.venv/bin}
ROOT="${ASRCTL_HOME:-$PWD/.asrctl}/team-demo"
OPERATOR="$ROOT/operator"   # shell 1: the operator (and the workers: the simulator's world lives here)
APPROVER="$ROOT/approver"   # shell 2: the application owner, on "another machine"
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

free_port() { "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

rm -rf "$ROOT" && mkdir -p "$OPERATOR" "$APPROVER"
PORT=$(free_port)
UI_PORT=$(free_port)
echo "== 1/5 Temporal dev server on 127.0.0.1:$PORT (UI http://127.0.0.1:$UI_PORT, data $ROOT/temporal.db)"
"$BIN/temporal" server start-dev --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" --log-level error \
  --db-filename "$ROOT/temporal.db" >"$ROOT/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  "$BIN/temporal" operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1 && break
  sleep 0.2
done

export ASRCTL_TEMPORAL_ADDRESS="127.0.0.1:$PORT" ASRCTL_ENGINE=temporal ASRCTL_SIM_SPEED="${ASRCTL_SIM_SPEED:-2000}"
echo "== 2/5 two workers (asrctl worker), pids recorded"
for n in 1 2; do
  ASRCTL_HOME="$OPERATOR" "$BIN/asrctl" worker >"$ROOT/worker-$n.log" 2>&1 &
  PIDS+=($!)
done
sleep 2

echo "== 3/5 shell 1: drill of plan erp on stack prod — it pauses at the smoke-test manual action (exit 3)"
set +e
ASRCTL_HOME="$OPERATOR" "$BIN/asrctl" drill erp --stack prod 2>&1 | tail -3
code=${PIPESTATUS[0]}
set -e
[ "$code" = 3 ] || { echo "expected the drill to pause (exit 3), got $code" >&2; exit 1; }
RUN=$(ASRCTL_HOME="$OPERATOR" "$BIN/asrctl" runs list --status paused --json \
      | "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["runs"][-1]["run_id"])')

echo "== 4/5 shell 2 (ASRCTL_HOME=$APPROVER): the application owner approves run $RUN"
ASRCTL_HOME="$APPROVER" "$BIN/asrctl" runs resume "$RUN" --approve --by app-owner \
  --comment "smoke-test journal entry posted" 2>/dev/null | tail -2

echo "== 5/5 the finished run, from both shells"
ASRCTL_HOME="$OPERATOR" "$BIN/asrctl" runs show "$RUN" | tail -4
ASRCTL_HOME="$APPROVER" "$BIN/asrctl" runs show "$RUN" --json | "$BIN/python" -c '
import json, sys
run = json.load(sys.stdin)
manual = run["groups"][-1]["actions"][-1]
print("shell 2 sees run %s: %s, approved by %s (%s), verdict %s"
      % (run["run_id"], run["status"], manual["approved_by"], manual["comment"], run["verdict"]))'
echo "done: stopping the dev server and both workers (pids ${PIDS[*]})"
