/**
 * Rekor v1: rekor-server on a Trillian log server and signer, MariaDB for Trillian's tree and
 * Rekor's search index, nginx for TLS. The Trillian tree is created once (createtree) and its ID
 * pinned in the instance state; the ECDSA log key is encrypted with a password kept beside it.
 */
import path from 'node:path';
import { ensureDbPasswords, ensureEcdsaLogKey } from '../instance/secrets.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { AirgapError } from '../errors.js';
import { apiV1HeadOf, proveApiV1Consistency, readApiV1Head, type LogHead } from '../rekor/log-head.js';
import { parseJsonText } from '../rekor/log-http.js';
import { smokeV1 } from '../rekor/smoke-v1.js';
import { logPublicKey } from '../rekor/target.js';
import { findApiV1Entries, readApiV1Entry } from '../rekor/entry-reader.js';
import { readApiV1EntryRange } from '../rekor/entry-range.js';
import { NONROOT_UID } from './container-user.js';
import type { BackupContext, LogStack } from './stack.js';
import { createTree } from './trillian-tree.js';
import { runOneOff } from '../engine/one-off.js';
import { mariadbDump, mariadbQuery } from './mariadb-dump.js';

/**
 * The signed tree head once the log is quiet: nothing queued in Trillian, and two reads a moment
 * apart agree. Read from inside the instance network (a one-off container of the nginx image,
 * which has curl), as nginx, the only way in from outside, is stopped.
 */
async function quietApiV1Head(ctx: BackupContext): Promise<LogHead> {
  const deadline = Date.now() + ctx.timeoutMs;
  const read = async () => {
    const r = await runOneOff(ctx.engine, ctx.project, [
      '--no-deps',
      '--entrypoint',
      'curl',
      'nginx',
      '-fsS',
      '--max-time',
      '10',
      'http://rekor:3000/api/v1/log',
    ]);
    if (r.exitCode !== 0)
      throw new AirgapError(
        'BACKUP_FAILED',
        `reading the log head inside the instance network failed (curl exit ${r.exitCode}): ${r.stderr.trim()}`,
      );
    return apiV1HeadOf(parseJsonText(r.stdout, 'GET /api/v1/log (inside the instance network)'), ctx.target);
  };
  let last = await read();
  for (;;) {
    const queued = Number(await mariadbQuery(ctx, 'mariadb', 'trillian', 'SELECT COUNT(*) FROM Unsequenced'));
    await new Promise((r) => setTimeout(r, 1500));
    const now = await read();
    if (queued === 0 && now.size === last.size && now.rootHex === last.rootHex) return now;
    if (Date.now() > deadline)
      throw new AirgapError(
        'BACKUP_FAILED',
        `the log did not become quiet within ${ctx.timeoutMs / 1000} s (tree size ${last.size} → ${now.size}, ${queued} entries queued)`,
      );
    last = now;
  }
}

export const rekorV1Stack: LogStack = {
  serves: 'log',
  kind: 'rekor-v1',
  title: 'Rekor v1 (rekor-server + Trillian + MariaDB)',
  timestampAuthority: false,
  apiVersion: 1,
  minMemoryBytes: 2 * 1024 ** 3,
  directories: [
    { path: 'db', mode: 0o755 },
    { path: 'initdb', mode: 0o755 },
  ],
  secretsOwner: NONROOT_UID,
  secretTemplates: ['rekor-server.yaml', 'trillian.flags'],
  async configure(ctx) {
    const pw = await ensureDbPasswords(ctx.paths);
    const logKey = await ensureEcdsaLogKey(ctx.paths, NONROOT_UID);
    // Trillian's schema, loaded by the MariaDB entry point on the first start.
    for (const [name, read] of ctx.artifacts) {
      if (name.endsWith('.sql')) await writeFileAtomic(path.join(ctx.paths.initdb, `001-${name}`), await read(), 0o644);
    }
    return { logKey, vars: { db_password: pw.user, signer_password: logKey.password } };
  },
  // rekor-server, Trillian and createtree open new database and gRPC connections while they run.
  fixedAddresses: { network: 'backend', services: ['mariadb', 'trillian-log-server', 'rekor'] },
  // Trillian exits when its database is not there yet: it starts only once MariaDB is healthy.
  phases: [
    { services: ['mariadb'] },
    { services: ['trillian-log-server', 'trillian-log-signer'] },
    {
      services: ['rekor', 'nginx'],
      before: async (ctx) => {
        if (!ctx.state.stack.treeId) {
          ctx.progress.step('creating the Trillian tree (once; its ID is pinned)');
          ctx.state.stack.treeId = await createTree(ctx.engine, ctx.project, ctx.timeoutMs);
          await ctx.saveState();
        }
        ctx.vars.tree_id = ctx.state.stack.treeId;
      },
      templates: ['rekor-server.yaml'],
    },
  ],
  smoke: (t) => smokeV1({ endpoint: t.endpoint, logKey: logPublicKey(t), hostname: t.origin, instance: t.label }),
  readHead: readApiV1Head,
  readEntry: readApiV1Entry,
  readEntryRange: readApiV1EntryRange,
  findEntries: findApiV1Entries,
  proveConsistency: proveApiV1Consistency,
  // Clients are cut off (nginx stopped) while Trillian integrates what it has queued; the database
  // is dumped in one transaction, and the checkpoint read from rekor-server inside the network.
  backup: {
    pauseServices: ['nginx'],
    exclude: ['db'],
    dumps: [mariadbDump('mariadb', 'trillian')],
    pausedHead: quietApiV1Head,
  },
  handover: (s) => (s.stack.treeId ? [['Trillian tree', s.stack.treeId]] : []),
};
