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
# A MariaDB client inside the container; the root password goes through a 0600 defaults file
# there, never onto a command line (where ps would show it).
dbrun() { compose exec -T mariadb sh -c 'umask 077; f=$(mktemp); printf "[client]\nuser=root\npassword=%s\n" "$(cat /run/secrets/db-root-password)" >"$f"; p=$1; shift; "$p" --defaults-extra-file="$f" "$@"; rc=$?; rm -f "$f"; exit $rc' sh "$@"; }
tree_size() { dbrun mariadb -N -B trillian -e 'SELECT COALESCE(MAX(TreeSize), 0) FROM TreeHead'; }
dbrun mariadb-dump --single-transaction trillian >"$TMP/trillian.sql"
tree_size >"$TMP/tree-size"
tar -C "$DATA" -cf "$TMP/files.tar" {{ backup.paths }}
tar -C "$TMP" -czf "$OUT" trillian.sql tree-size files.tar
echo "backup written to $OUT"
