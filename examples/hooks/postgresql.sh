#!/bin/sh
# A rekor-airgap backup hook for the application's PostgreSQL store ("back up alongside your Aevum
# store"): `rekor-airgap backup --with examples/hooks/postgresql.sh` puts a pg_dump into the same
# archive, taken while the log's writes are paused; `rekor-airgap restore --with ...` loads it back.
#
# Connection: the usual libpq variables — PGHOST, PGPORT, PGUSER, PGDATABASE (PGPASSFILE for a
# password; never a password on the command line). The hook is called with one argument:
#   backup   write the dump on standard output (pg_dump custom format)
#   restore  read that dump on standard input, replacing the database's objects
set -eu
: "${PGDATABASE:?set PGDATABASE (and PGHOST, PGPORT, PGUSER as needed)}"
case "${1:-}" in
  backup) exec pg_dump --format=custom --no-owner ;;
  restore) exec pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --dbname="$PGDATABASE" ;;
  *) echo "usage: $0 backup|restore" >&2; exit 2 ;;
esac
