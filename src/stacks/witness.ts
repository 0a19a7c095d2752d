/**
 * A witness: omniwitness (tlog-witness protocol, SQLite state on a volume) behind nginx, which
 * terminates TLS and passes on only POST /add-checkpoint. It has no log of its own: it cosigns the
 * checkpoints of the logs registered with it (witness-logs.yaml), each only if consistent with the
 * last one it cosigned. Its name (the key name on its cosignatures) is the instance's origin:
 * the hostname unless `--witness-name` says otherwise, and it never changes.
 */
import {
  ensureSmokeLog,
  ensureWitnessSigner,
  readWitnessedSizes,
  readWitnessLogs,
  withWitnessLog,
  writeWitnessLogs,
} from '../instance/witness-files.js';
import type { InstanceState } from '../instance/state.js';
import { NONROOT_UID } from './container-user.js';
import type { WitnessStack } from './stack.js';
import { smokeWitness } from './witness-smoke.js';

/** The policy line a log's client policy needs for this witness (C2SP tlog-policy). */
export function witnessPolicyLine(s: InstanceState): string {
  return `witness ${s.instance} ${s.stack.witnessVkey ?? ''} ${s.url}`;
}

export const witnessStack: WitnessStack = {
  serves: 'witness',
  kind: 'witness',
  title: 'Witness (omniwitness)',
  minMemoryBytes: 256 * 1024 ** 2,
  directories: [{ path: 'witness', mode: 0o755, owner: NONROOT_UID }],
  secretsOwner: NONROOT_UID,
  secretTemplates: [],
  async configure(ctx) {
    const { paths, state } = ctx;
    const signer = await ensureWitnessSigner(paths, state.origin, NONROOT_UID);
    state.stack.witnessName = signer.name;
    state.stack.witnessVkey = signer.vkey;
    // The smoke test's own log is registered from the first install on; other logs stay as added.
    const smoke = await ensureSmokeLog(paths, state.instance);
    const logs = await readWitnessLogs(paths);
    const next = withWitnessLog(logs, smoke.log);
    if (next.changed || logs.length === 0) await writeWitnessLogs(paths, next.logs);
    return {
      logKey: {
        publicKey: signer.publicKey,
        publicPem: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        created: signer.created,
      },
      vars: {},
    };
  },
  // nginx reaches omniwitness by a fixed address: a restart (a log registered) keeps it.
  fixedAddresses: { network: 'backend', services: ['witness'] },
  phases: [{ services: ['witness', 'nginx'] }],
  smoke: smokeWitness,
  witnessedSizes: readWitnessedSizes,
  // The database is copied with omniwitness stopped (its WAL with it); nginx answers 502 meanwhile
  // and logs retry. Nothing is derived or rebuildable: every file goes in.
  backup: { pauseServices: ['witness'], exclude: [], dumps: [] },
  handover: (s) => [
    ['witness name', s.stack.witnessName ?? s.origin],
    ['witness vkey', s.stack.witnessVkey ?? ''],
    ['policy line', witnessPolicyLine(s)],
  ],
};
