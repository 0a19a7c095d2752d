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
# A MariaDB client inside the container; the root password goes through a 0600 defaults file
# there, never onto a command line (where ps would show it).
dbrun() { compose exec -T mariadb sh -c 'umask 077; f=$(mktemp); printf "[client]\nuser=root\npassword=%s\n" "$(cat /run/secrets/db-root-password)" >"$f"; p=$1; shift; "$p" --defaults-extra-file="$f" "$@"; rc=$?; rm -f "$f"; exit $rc' sh "$@"; }
tree_size() { dbrun mariadb -N -B trillian -e 'SELECT COALESCE(MAX(TreeSize), 0) FROM TreeHead'; }
# Never put back a smaller tree than the log has already published: clients hold its checkpoints.
LIVE=$(tree_size)
SAVED=$(cat "$TMP/tree-size" 2>/dev/null || echo 0)
if [ "$SAVED" -lt "$LIVE" ]; then
  echo "refusing: the backup's tree ($SAVED entries) is smaller than the live log's ($LIVE); restoring it would fork the log" >&2
  exit 1
fi
compose stop {{ backup.pause_services }}
tar -C "$DATA" -xf "$TMP/files.tar"
dbrun mariadb trillian <"$TMP/trillian.sql"
compose up -d
echo "restored $IN into $DATA"
