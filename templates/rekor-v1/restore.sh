#!/bin/sh
# Restore of rekor-airgap instance {{ instance }} (Rekor v1) from a backup.sh archive.
#   ./restore.sh BACKUP.tar.gz
set -eu
IN=${1:?usage: restore.sh BACKUP.tar.gz}
DATA='{{ paths.dataDir }}'
COMPOSE_FILE='{{ paths.compose }}'
PROJECT='{{ project }}'
compose() { if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; else docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; fi; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
tar -C "$TMP" -xzf "$IN"
compose stop {{ backup.pause_services }}
tar -C "$DATA" -xf "$TMP/files.tar"
compose exec -T mariadb sh -c 'exec mariadb -uroot -p"$(cat /run/secrets/db-root-password)" trillian' <"$TMP/trillian.sql"
compose up -d
echo "restored $IN into $DATA"
