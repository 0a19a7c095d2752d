/**
 * Rekor v1: rekor-server on a Trillian log server and signer, MariaDB for Trillian's tree and
 * Rekor's search index, nginx for TLS. The Trillian tree is created once (createtree) and its ID
 * pinned in the instance state; the ECDSA log key is encrypted with a password kept beside it.
 */
import path from 'node:path';
import { ensureDbPasswords, ensureEcdsaLogKey } from '../instance/secrets.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { proveApiV1Consistency, readApiV1Head } from '../rekor/log-head.js';
import { smokeV1 } from '../rekor/smoke-v1.js';
import { logPublicKey } from '../rekor/target.js';
import { NONROOT_UID } from './container-user.js';
import type { Stack } from './stack.js';
import { createTree } from './trillian-tree.js';

export const rekorV1Stack: Stack = {
  kind: 'rekor-v1',
  title: 'Rekor v1 (rekor-server + Trillian + MariaDB)',
  minMemoryBytes: 2 * 1024 ** 3,
  directories: [{ path: 'db', mode: 0o755 }, { path: 'initdb', mode: 0o755 }],
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
  phases: [
    { services: ['mariadb', 'trillian-log-server', 'trillian-log-signer'] },
    {
      services: ['rekor', 'nginx'],
      before: async (ctx) => {
        if (!ctx.state.stack.treeId) {
          ctx.progress.step('creating the Trillian tree (once; its ID is pinned)');
          ctx.state.stack.treeId = await createTree(ctx.compose, ctx.project, ctx.paths.compose, ctx.timeoutMs);
          await ctx.saveState();
        }
        ctx.vars.tree_id = ctx.state.stack.treeId;
      },
      templates: ['rekor-server.yaml'],
    },
  ],
  smoke: (t) => smokeV1({ endpoint: t.endpoint, logKey: logPublicKey(t), hostname: t.origin, instance: t.label }),
  readHead: readApiV1Head,
  proveConsistency: proveApiV1Consistency,
  backup: { pauseServices: ['rekor', 'trillian-log-server', 'trillian-log-signer'], paths: ['secrets', 'tls', 'config', 'state'] },
  handover: (s) => (s.stack.treeId ? [['Trillian tree', s.stack.treeId]] : []),
};
