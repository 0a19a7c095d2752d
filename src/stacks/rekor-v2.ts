/**
 * Rekor v2: rekor-tiles with POSIX storage (tiles on a volume) behind nginx, which terminates TLS,
 * proxies the write API and serves the tiles read-only as the read API. Ed25519 log key.
 */
import { ensureEd25519LogKey, ensureTsaMaterial } from '../instance/secrets.js';
import { auditTilesTree, proveTilesConsistency, readTilesHead } from '../rekor/log-head.js';
import { smokeV2 } from '../rekor/smoke-v2.js';
import { tilesWritesRefused } from '../rekor/read-only.js';
import { logPublicKey } from '../rekor/target.js';
import { findTilesEntries, readTilesEntry } from '../rekor/entry-reader.js';
import { readTilesEntryRange } from '../rekor/entry-range.js';
import { NONROOT_UID } from './container-user.js';
import type { LogStack } from './stack.js';

export const rekorV2Stack: LogStack = {
  serves: 'log',
  kind: 'rekor-v2',
  title: 'Rekor v2 (rekor-tiles, POSIX tiles)',
  timestampAuthority: true,
  apiVersion: 2,
  witnessing: true,
  minMemoryBytes: 1024 ** 3,
  directories: [{ path: 'log', mode: 0o755, owner: NONROOT_UID }],
  secretsOwner: NONROOT_UID,
  secretTemplates: [],
  async configure(ctx) {
    const logKey = await ensureEd25519LogKey(ctx.paths, NONROOT_UID);
    // The optional timestamp authority (install --tsa): its signer key and certificate chain.
    const tsa = ctx.state.stack.tsa === 'on';
    if (tsa) await ensureTsaMaterial(ctx.paths, ctx.state.instance, NONROOT_UID);
    // A shard rotated out: rekor-tiles --read-only (no entries, no new checkpoints; reads go on).
    return { logKey, vars: { tsa: tsa ? 'on' : '', read_only: ctx.state.readOnlySince ? 'on' : '' } };
  },
  phases: [{ services: ['rekor', 'nginx'] }],
  smoke: (t) =>
    smokeV2({
      endpoint: t.endpoint,
      logKey: logPublicKey(t),
      origin: t.origin,
      instance: t.label,
      ...(t.tsaChainPem ? { tsaChainPem: t.tsaChainPem } : {}),
      ...(t.witnessPolicy ? { witnessPolicy: t.witnessPolicy } : {}),
    }),
  readHead: readTilesHead,
  readEntry: readTilesEntry,
  readEntryRange: readTilesEntryRange,
  findEntries: findTilesEntries,
  proveConsistency: proveTilesConsistency,
  auditTree: auditTilesTree,
  // Writes pause with rekor-tiles stopped; nginx goes on serving the tiles and the checkpoint.
  // Tessera's antispam index (Badger, with a 2 GiB sparse value log) is derived from the log: its
  // follower rebuilds it from the entry bundles after a restore, so it is not copied.
  backup: { pauseServices: ['rekor'], exclude: ['log/.state/antispam'], dumps: [] },
  readOnlySwitch: { writesRefused: tilesWritesRefused },
  handover: (s) => (s.stack.tsa === 'on' ? [['timestamps', `${s.url}/api/v1/timestamp (RFC 3161)`]] : []),
};
