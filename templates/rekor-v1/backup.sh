#!/bin/sh
# Backup of rekor-airgap instance {{ instance }} (Rekor v1): a consistent dump of the Trillian
# database, the log signing key and its password, the tree ID, TLS material and configuration.
#   ./backup.sh OUT.tar.gz
set -eu
# The archive holds the signing key, the CA key and passwords: readable by root only, from its first byte.
umask 077
OUT=${1:?usage: backup.sh OUT.tar.gz}
DATA='{{ paths.dataDir }}'
COMPOSE_FILE='{{ paths.compose }}'
PROJECT='{{ project }}'
compose() { if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; else docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; fi; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
compose exec -T mariadb sh -c 'exec mariadb-dump --single-transaction -uroot -p"$(cat /run/secrets/db-root-password)" trillian' >"$TMP/trillian.sql"
tar -C "$DATA" -cf "$TMP/files.tar" {{ backup.paths }}
tar -C "$TMP" -czf "$OUT" trillian.sql files.tar
echo "backup written to $OUT"
