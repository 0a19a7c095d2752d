#!/bin/sh
# Restore of rekor-airgap instance {{ instance }} from a backup.sh archive. Refuses to put back a
# tree smaller than the one the log has already published.
#   ./restore.sh BACKUP.tar.gz
set -eu
IN=${1:?usage: restore.sh BACKUP.tar.gz}
DATA='{{ paths.dataDir }}'
COMPOSE_FILE='{{ paths.compose }}'
PROJECT='{{ project }}'
compose() { if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; else docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; fi; }
size_of() { sed -n 2p "$1" 2>/dev/null || echo 0; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
tar -C "$TMP" -xzf "$IN"
LIVE_CP='{{ paths.log }}/checkpoint'
if [ -f "$LIVE_CP" ] && [ "$(size_of "$TMP/log/checkpoint")" -lt "$(size_of "$LIVE_CP")" ]; then
  echo "refusing: the backup's tree ($(size_of "$TMP/log/checkpoint")) is smaller than the live log's ($(size_of "$LIVE_CP"))" >&2
  exit 1
fi
compose stop
for d in {{ backup.paths }}; do rm -rf "${DATA:?}/$d"; cp -a "$TMP/$d" "$DATA/$d"; done
compose up -d
echo "restored $IN into $DATA"
