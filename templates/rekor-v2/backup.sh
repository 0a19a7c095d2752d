#!/bin/sh
# Backup of rekor-airgap instance {{ instance }}: the log's tiles and state, its signing key, TLS
# material and configuration, taken while writes are paused.
#   ./backup.sh OUT.tar.gz
set -eu
# The archive holds the signing key, the CA key and passwords: readable by root only, from its first byte.
umask 077
OUT=${1:?usage: backup.sh OUT.tar.gz}
DATA='{{ paths.dataDir }}'
COMPOSE_FILE='{{ paths.compose }}'
PROJECT='{{ project }}'
compose() { if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; else docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; fi; }
echo "pausing writes (stopping {{ backup.pause_services }})"
compose stop {{ backup.pause_services }}
trap 'compose start {{ backup.pause_services }}' EXIT
tar -C "$DATA" -czf "$OUT" {{ backup.paths }}
echo "backup written to $OUT"
