#!/bin/bash
# Subset of the official image's healthcheck.sh: --connect succeeds once the server takes TCP connections.
set -e
for arg in "$@"; do
  case "$arg" in
    --connect) mariadb-admin --protocol=tcp -h 127.0.0.1 --connect-timeout=2 ping >/dev/null 2>&1 || exit 1 ;;
    --innodb_initialized) : ;;
    *) echo "healthcheck.sh: unsupported check $arg" >&2; exit 2 ;;
  esac
done
