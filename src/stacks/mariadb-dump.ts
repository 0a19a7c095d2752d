/**
 * Rekor v1's MariaDB, saved with `mariadb-dump --single-transaction` (a consistent snapshot while
 * it runs) and loaded back with `mariadb`, both inside the database container. The root password
 * goes through a 0600 defaults file made there, never onto a command line (where ps shows it).
 * The dump goes back in through the init directory the container already mounts (under a name the
 * entry point ignores), not through `compose exec` standard input, which docker-compose v1 never
 * closes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { copyFileAtomic } from '../util/atomic-file.js';
import type { BackupContext, DatabaseDump } from './stack.js';

/** Where the compose file mounts the instance's init directory in the MariaDB container. */
const INITDB_IN_CONTAINER = '/docker-entrypoint-initdb.d';

const DEFAULTS_FILE =
  'umask 077; f=$(mktemp); printf "[client]\\nuser=root\\npassword=%s\\n" "$(cat /run/secrets/db-root-password)" >"$f"';
/** `sh -c DB_RUN sh PROGRAM ARGS...`: runs a MariaDB client program as root. */
const DB_RUN = `${DEFAULTS_FILE}; p=$1; shift; "$p" --defaults-extra-file="$f" "$@"; rc=$?; rm -f "$f"; exit $rc`;
/** `sh -c DB_LOAD sh FILE`: feeds an SQL file (inside the container) to the client. */
const DB_LOAD = `${DEFAULTS_FILE}; mariadb --defaults-extra-file="$f" <"$1"; rc=$?; rm -f "$f"; exit $rc`;

function dbArgs(service: string, program: string, args: string[]): string[] {
  return ['exec', '-T', service, 'sh', '-c', DB_RUN, 'sh', program, ...args];
}

export function mariadbDump(service: string, database: string): DatabaseDump {
  return {
    name: `${database}.sql`,
    service,
    async dump(ctx: BackupContext, outFile: string) {
      await ctx.project.stream(
        dbArgs(service, 'mariadb-dump', ['--single-transaction', '--routines', '--databases', database]),
        { stdoutFile: outFile, timeoutMs: ctx.timeoutMs * 20 },
      );
    },
    async restore(ctx: BackupContext, inFile: string) {
      const name = `restore-${database}.sql.pending`;
      const staged = path.join(ctx.paths.initdb, name);
      await copyFileAtomic(inFile, staged, { mode: 0o644 });
      try {
        await ctx.project.run(['exec', '-T', service, 'sh', '-c', DB_LOAD, 'sh', `${INITDB_IN_CONTAINER}/${name}`], {
          timeoutMs: ctx.timeoutMs * 20,
        });
      } finally {
        await fsp.rm(staged, { force: true });
      }
    },
  };
}

/** A query's tab-separated answer (no column names). */
export async function mariadbQuery(
  ctx: Pick<BackupContext, 'project'>,
  service: string,
  database: string,
  sql: string,
): Promise<string> {
  const r = await ctx.project.run(dbArgs(service, 'mariadb', ['-N', '-B', database, '-e', sql]));
  return r.stdout.trim();
}
