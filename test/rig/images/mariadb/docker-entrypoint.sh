#!/bin/bash
# The official MariaDB image's entrypoint contract, for a Debian-built MariaDB.
set -eo pipefail

file_env() { # VAR: take $VAR, or the contents of the file named by $VAR_FILE
  local var=$1 file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set" >&2; exit 1
  fi
  if [ -n "${!file_var:-}" ]; then export "$var"="$(<"${!file_var}")"; fi
}

if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
  DATADIR=/var/lib/mysql
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld "$DATADIR"
  if [ ! -d "$DATADIR/mysql" ]; then
    for v in MARIADB_ROOT_PASSWORD MARIADB_DATABASE MARIADB_USER MARIADB_PASSWORD; do file_env "$v"; done
    : "${MARIADB_ROOT_PASSWORD:?error: database is uninitialized and MARIADB_ROOT_PASSWORD is not set}"
    echo "entrypoint: initialising database in $DATADIR"
    mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
      --auth-root-authentication-method=normal >/dev/null
    sock=/run/mysqld/init.sock
    mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$sock" &
    pid=$!
    for i in $(seq 60); do mariadb-admin --socket="$sock" ping >/dev/null 2>&1 && break; sleep 1; done
    sql() { mariadb --socket="$sock" -uroot "$@"; }
    esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
    sql <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$(esc "$MARIADB_ROOT_PASSWORD")';
CREATE USER 'root'@'%' IDENTIFIED BY '$(esc "$MARIADB_ROOT_PASSWORD")';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    rootsql() { mariadb --socket="$sock" -uroot -p"$MARIADB_ROOT_PASSWORD" "$@"; }
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      rootsql -e "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`"
    fi
    if [ -n "${MARIADB_USER:-}" ] && [ -n "${MARIADB_PASSWORD:-}" ]; then
      rootsql -e "CREATE USER '$(esc "$MARIADB_USER")'@'%' IDENTIFIED BY '$(esc "$MARIADB_PASSWORD")'"
      [ -n "${MARIADB_DATABASE:-}" ] && rootsql -e "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$(esc "$MARIADB_USER")'@'%'"
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sql) echo "entrypoint: running $f"; rootsql ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} <"$f" ;;
        *.sql.gz) echo "entrypoint: running $f"; gunzip -c "$f" | rootsql ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} ;;
        *.sh) echo "entrypoint: running $f"; . "$f" ;;
        *) [ -e "$f" ] && echo "entrypoint: ignoring $f" ;;
      esac
    done
    mariadb-admin --socket="$sock" -uroot -p"$MARIADB_ROOT_PASSWORD" shutdown
    wait "$pid" || true
    echo "entrypoint: initialisation done"
  fi
  exec "$@" --user=mysql
fi
exec "$@"
