/**
 * A throwaway PostgreSQL server from Debian's packages (initdb + pg_ctl as the postgres user), on
 * a Unix socket only, for the backup hook tests: the application store the guide's users keep.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface Postgres {
  /** libpq environment for clients (PGHOST, PGPORT, PGUSER, PGDATABASE). */
  env: Record<string, string>;
  sql(query: string): string;
  stop(): void;
}

function pgBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort().pop() : undefined;
  if (!version) throw new Error("PostgreSQL is not installed (the rig installs Debian's postgresql)");
  return path.join(root, version, 'bin', tool);
}

export function startPostgres(dir: string, database: string): Postgres {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  const data = path.join(dir, 'pgdata');
  const sock = path.join(dir, 'pgsock');
  mkdirSync(sock, { recursive: true });
  chmodSync(dir, 0o755);
  chownSync(sock, uid, gid);
  const asPostgres = (tool: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', pgBin(tool), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  mkdirSync(data, { recursive: true });
  chownSync(data, uid, gid);
  asPostgres('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '--no-sync']);
  const port = String(20000 + Math.floor(Math.random() * 20000));
  asPostgres('pg_ctl', [
    '-D',
    data,
    '-w',
    '-l',
    path.join(data, 'server.log'),
    '-o',
    `-k ${sock} -p ${port} -c listen_addresses=''`,
    'start',
  ]);
  const env = { PGHOST: sock, PGPORT: port, PGUSER: 'postgres', PGDATABASE: database };
  const psql = (db: string, query: string) =>
    execFileSync(pgBin('psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', query], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }).trim();
  psql('postgres', `CREATE DATABASE ${database}`);
  return {
    env,
    sql: (q) => psql(database, q),
    stop: () => {
      try {
        asPostgres('pg_ctl', ['-D', data, '-m', 'fast', 'stop']);
      } catch {
        /* already stopped */
      }
    },
  };
}
