#!/usr/bin/env bash
# `npm run dev`: set up what is missing (the same installer and jar fetch as `npm test`'s pretest),
# build, bring up (or reuse) the local Kafka clusters A and B with their schema registries, PostgreSQL,
# Redis and memcached (`wal dev up`), then run the sample topologies in topologies/ in the foreground,
# with the WriteToLog HTTP API beside them.
#
# Ctrl-C stops wal gracefully (drain, commit, close stores). The clusters and the target servers keep
# running, so the next `npm run dev` starts in seconds; stop them with `node dist/cli/main.js dev down`.
#
# Settings: WAL_ADMIN_PORT (default 9464: /metrics, /health, /ready), WAL_API_PORT (default 8080),
# WAL_DEV_NAMESPACES (space-separated; default: every namespace in topologies/).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "dev: $*" >&2; }
WAL=(node dist/cli/main.js)
ADMIN_PORT="${WAL_ADMIN_PORT:-9464}"
API_PORT="${WAL_API_PORT:-8080}"

# Set-up, as `npm test` does it (package.json pretest; test/unit/setup-parity.test.ts keeps the two in
# step): PostgreSQL and Redis from Debian's packages when missing, then the Kafka and registry jars.
# Both are quick no-ops once done. Their progress goes to stderr, like everything but wal's own output.
bash scripts/install-system-deps.sh >&2
npm run build --silent
"${WAL[@]}" dev fetch >&2

# stdout of `wal dev up` is comments and exports only; progress goes to stderr.
exports="$("${WAL[@]}" dev up)"
eval "$exports"
echo "$exports" >&2

api_pid=""
wal_pid=""
cleanup() {
  if [ -n "$api_pid" ] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

mkdir -p .wal
if "${WAL[@]}" api --help >/dev/null 2>&1; then
  "${WAL[@]}" api --topology topologies --port "$API_PORT" >.wal/api.log 2>&1 &
  api_pid=$!
  log "WriteToLog API on http://127.0.0.1:${API_PORT} (POST /v1/wal/write; log in .wal/api.log)"
fi

namespace_args=()
if [ -n "${WAL_DEV_NAMESPACES:-}" ]; then
  # shellcheck disable=SC2206 # word splitting intended: a list of names
  namespace_args=(--namespace ${WAL_DEV_NAMESPACES})
fi

log "running the sample topologies (admin: http://127.0.0.1:${ADMIN_PORT}/ready). Ctrl-C stops wal; the clusters keep running until: node dist/cli/main.js dev down"
# In the background of this script so that a SIGTERM sent to the script reaches wal too. Ctrl-C at a
# terminal already reaches wal (same process group): the script only waits, it must not signal twice
# (a second signal makes wal exit without finishing its shutdown).
"${WAL[@]}" start --topology topologies "${namespace_args[@]}" --create-topics --state-dir .wal/state \
  --admin-port "$ADMIN_PORT" --instance-id dev &
wal_pid=$!
trap ':' INT
trap 'kill -TERM "$wal_pid" 2>/dev/null || true' TERM

# A trapped signal interrupts `wait` while wal is still shutting down: wait until it has exited,
# then once more for its own exit status (bash keeps it).
while kill -0 "$wal_pid" 2>/dev/null; do
  wait "$wal_pid" || true
done
status=0
wait "$wal_pid" || status=$?
log "wal exited with status ${status}; the clusters are still running (stop them with: node dist/cli/main.js dev down)"
exit "$status"
