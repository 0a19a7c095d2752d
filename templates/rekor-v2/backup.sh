#!/bin/sh
# Backup of rekor-airgap instance {{ instance }}: the log's tiles and state, its signing key, TLS
# material and configuration, taken while writes are paused.
#   ./backup.sh OUT.tar.gz
set -eu
OUT=${1:?usage: backup.sh OUT.tar.gz}
DATA='{{ data_dir }}'
COMPOSE_FILE="$DATA/config/compose.yaml"
PROJECT='{{ project }}'
compose() { if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; else docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; fi; }
echo "pausing writes (stopping rekor)"
compose stop rekor
trap 'compose start rekor' EXIT
tar -C "$DATA" -czf "$OUT" log secrets tls config state.json
echo "backup written to $OUT"
