#!/usr/bin/env bash
# Crash-recovery drill of the compose fleet, the container counterpart of `ehw drill`:
#   1. start azurite, the hub and N workers; send a backlog;
#   2. SIGKILL one worker replica (a crash: its partitions wait for ownership expiry);
#   3. restart azurite (checkpoint storage away and back; workers retry);
#   4. stop one replica with SIGTERM (graceful: drain, final checkpoint, ownership relinquished);
#   5. bring the fleet back to N and wait until the consumer group has caught up (lag 0).
# `ehw status` from a one-off container shows ownership and lag after every step.
#
# Usage: docker/drill.sh [workers] (default 3). Needs Docker with the compose plugin (v2.20 or
# newer for --wait). Leaves the stack running; `docker compose down -v` removes it with its volumes.
# Delivery is judged by lag and hand-over here; `ehw drill` (local processes) also checks every
# event id against worker ledgers.
set -euo pipefail

cd "$(dirname "$0")/.."
WORKERS="${1:-3}"
# Longest wait for one step: ownership expiry (30 s in docker-compose.yml) plus a rebalance loop.
STEP_TIMEOUT_S="${STEP_TIMEOUT_S:-180}"

compose() { docker compose "$@"; }
status() { compose run --rm --no-deps -T worker status "$@"; }
log() { printf '\n== %s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# Node evaluates the status document: the host's when there is one, else the image's.
judge() {
  if command -v node >/dev/null; then node "$@"; else compose run --rm --no-deps -T --entrypoint node worker "$@"; fi
}

# Waits until `ehw status --json` satisfies a JavaScript expression over the parsed document `s`.
wait_status() {
  local what="$1" expr="$2" deadline=$((SECONDS + STEP_TIMEOUT_S))
  until status --json 2>/dev/null | judge -e "
    let t = ''; process.stdin.on('data', (c) => (t += c)).on('end', () => {
      try { const s = JSON.parse(t); process.exit((${expr}) ? 0 : 1); } catch { process.exit(1); }
    });"; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${STEP_TIMEOUT_S}s waiting for: ${what}"
      status || true
      exit 1
    fi
    sleep 2
  done
  log "ok: ${what}"
}

one_worker() { compose ps -q worker | head -n 1; }

log "building and starting azurite, eventhubs and ${WORKERS} workers"
compose up -d --build --wait --scale "worker=${WORKERS}" azurite eventhubs worker
wait_status "every partition owned by ${WORKERS} live workers" \
  "s.totals.byState.owned === s.totals.partitions && s.totals.owners === Math.min(${WORKERS}, s.totals.partitions)"

log "sending the backlog (producer service)"
compose up -d producer
status

victim="$(one_worker)"
log "crash: SIGKILL worker container ${victim:0:12}"
docker kill --signal SIGKILL "${victim}" >/dev/null
wait_status "the killed worker's partitions taken over after expiry" \
  "s.totals.byState.owned === s.totals.partitions && s.totals.owners === Math.min(${WORKERS} - 1, s.totals.partitions)"
status

log "storage outage: docker compose restart azurite"
compose restart azurite
wait_status "ownership renewed after the storage restart" \
  "s.totals.byState.owned === s.totals.partitions"

victim="$(one_worker)"
log "graceful stop: SIGTERM worker container ${victim:0:12} (drain, final checkpoint, release)"
docker stop --time 30 "${victim}" >/dev/null
docker logs --tail 200 "${victim}" 2>&1 | grep -E '"partition released"|"worker stopped"|drain' | tail -n 5 || true
wait_status "the stopped worker's partitions handed over" \
  "s.totals.byState.owned === s.totals.partitions"

log "restoring ${WORKERS} workers"
compose up -d --scale "worker=${WORKERS}" --no-recreate worker
compose up -d producer
wait_status "backlog processed: lag 0 on every partition" \
  "s.totals.totalLag === 0 && s.totals.byState.owned === s.totals.partitions"
status
log "drill passed"
