/**
 * Rekor v1's MariaDB, saved with `mariadb-dump --single-transaction` (a consistent snapshot while
 * it runs) and loaded back with `mariadb`, both inside the database container. The root password
 * goes through a 0600 defaults file made there, never onto a command line (where ps shows it).
 */
import type { BackupContext, DatabaseDump } from './stack.js';

const DB_RUN = 'umask 077; f=$(mktemp); printf "[client]\\nuser=root\\npassword=%s\\n" "$(cat /run/secrets/db-root-password)" >"$f"; p=$1; shift; "$p" --defaults-extra-file="$f" "$@"; rc=$?; rm -f "$f"; exit $rc';

function dbArgs(service: string, program: string, args: string[]): string[] {
  return ['exec', '-T', service, 'sh', '-c', DB_RUN, 'sh', program, ...args];
}

export function mariadbDump(service: string, database: string): DatabaseDump {
  return {
    name: `${database}.sql`,
    service,
    async dump(ctx: BackupContext, outFile: string) {
      await ctx.compose.stream(ctx.project, ctx.paths.compose, dbArgs(service, 'mariadb-dump', ['--single-transaction', '--routines', '--databases', database]), { stdoutFile: outFile, timeoutMs: ctx.timeoutMs * 20 });
    },
    async restore(ctx: BackupContext, inFile: string) {
      await ctx.compose.stream(ctx.project, ctx.paths.compose, dbArgs(service, 'mariadb', []), { stdinFile: inFile, timeoutMs: ctx.timeoutMs * 20 });
    },
  };
}

/** A query's tab-separated answer (no column names). */
export async function mariadbQuery(ctx: Pick<BackupContext, 'compose' | 'project' | 'paths'>, service: string, database: string, sql: string): Promise<string> {
  const r = await ctx.compose.run(ctx.project, ctx.paths.compose, dbArgs(service, 'mariadb', ['-N', '-B', database, '-e', sql]));
  return r.stdout.trim();
}
