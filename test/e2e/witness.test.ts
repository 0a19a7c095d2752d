/**
 * Witness instances on the air-gapped engine: a rekor-v2 bundle carries the witness profile (its
 * companion); two witnesses installed from it, each smoke-tested; the hand-over's policy line read
 * by the policy parser; a log registered, its checkpoint cosigned through nginx and the
 * cosignature verified; an unknown log refused; a backup, and a restore refused because the live
 * witness has cosigned more since (it would forget, and cosign a fork).
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, inOffline, runOffline } from '../helpers/offline.js';
import { createRigBundle } from '../helpers/rig-bundle.js';
import { needRig, rig } from '../helpers/rig.js';
import { formatCheckpointBody, noteVerifierKey, signNote } from '../../src/tlog/note.js';
import { parseCosignatureVkey, verifyCosignature } from '../../src/witness/cosignature.js';
import { parseWitnessPolicy } from '../../src/witness/policy.js';

interface WitnessHandover {
  url: string;
  caCert: string;
  witnessName: string;
  witnessVkey: string;
  policyLine: string;
  smoke: { ok: boolean; checks: Array<{ name: string; ok: boolean }> } | null;
}

const RUN = `w${Date.now().toString(36).slice(-5)}`;
const W1 = `${RUN}-1`;
const W2 = `${RUN}-2`;

const leafHash = (data: string) =>
  createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(data)]))
    .digest();
const nodeHash = (l: Buffer, r: Buffer) =>
  createHash('sha256')
    .update(Buffer.concat([Buffer.from([1]), l, r]))
    .digest();

describe.skipIf(!rig)('witness instances on the air-gapped engine', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  const ports: Record<string, number> = {};
  const handovers: Record<string, WitnessHandover> = {};
  const dataDir = (i: string) => path.join(dir, 'data', i);
  const backupPass = () => path.join(dir, 'backup-passphrase');
  // The log the witnesses are told about: an Ed25519 note key, leaves l0, l1.
  const origin = `${RUN}.log.test`;
  let logKey: KeyObject;
  const leaves = [leafHash('entry 0'), leafHash('entry 1')];
  const checkpoint = (size: 1 | 2) =>
    signNote(
      formatCheckpointBody({
        origin,
        size,
        rootHash: size === 1 ? leaves[0]! : nodeHash(leaves[0]!, leaves[1]!),
        extensions: [],
      }),
      origin,
      logKey,
    );

  /** POST /add-checkpoint through the witness's nginx (TLS pinned to its CA), from the offline host. */
  const addCheckpoint = (w: string, body: string): { status: number; body: string } => {
    const file = path.join(dir, `req-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, body);
    const out = inOffline(needRig(), 'curl', [
      '-sS',
      '-o',
      `${file}.out`,
      '-w',
      '%{http_code}',
      '--cacert',
      handovers[w]!.caCert,
      '--resolve',
      `${w}.witness.test:${ports[w]}:127.0.0.1`,
      '--data-binary',
      `@${file}`,
      `${handovers[w]!.url}/add-checkpoint`,
    ]);
    return { status: Number(out), body: readFileSync(`${file}.out`, 'utf8') };
  };

  const install = (w: string, extra: string[] = []) =>
    runOffline(needRig(), [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--profile',
      'witness',
      '--instance',
      w,
      '--data-dir',
      dataDir(w),
      '--hostname',
      `${w}.witness.test`,
      '--port',
      String(ports[w]),
      '--json',
      '--timeout',
      '180',
      ...extra,
    ]);

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('witness-test-');
    key = await makeSigningKey(dir);
    writeFileSync(backupPass(), 'a long backup passphrase for the witness tests\n', { mode: 0o600 });
    logKey = generateKeyPairSync('ed25519').privateKey;
    for (const w of [W1, W2]) {
      let p = freeOfflinePort(r);
      while (Object.values(ports).includes(p)) p = freeOfflinePort(r);
      ports[w] = p;
    }
    const made = await createRigBundle(r, dir, key);
    bundle = made.bundle;
    const c = made.result;
    expect(c.exitCode, c.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    const r = rig;
    if (!r || !dir) return;
    for (const w of [W1, W2])
      await runOffline(r, ['bundle', 'uninstall', '--instance', w, '--data-dir', dataDir(w), '--purge', '--quiet']);
  }, 300_000);

  it('a rekor-v2 bundle carries the witness profile, its templates and the omniwitness image', () => {
    const m = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')) as {
      profiles: string[];
      images: Array<{ ref: string; profiles: string[] }>;
      files: Array<{ path: string }>;
    };
    expect(m.profiles).toEqual(['rekor-v2', 'witness']);
    const ow = m.images.find((i) => i.ref.includes('/omniwitness:'));
    expect(ow?.profiles).toEqual(['witness']);
    expect(m.images.find((i) => i.ref.includes('/nginx:'))?.profiles).toEqual(['rekor-v2', 'witness']);
    expect(m.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'profiles/witness.yaml',
        'templates/witness/compose.yaml',
        'templates/witness/nginx.conf',
      ]),
    );
  });

  it('installs two witnesses from it; each smoke test passes and each hand-over line is policy text', async () => {
    for (const [w, extra] of [
      [W1, []],
      [W2, ['--witness-name', `${W2}.witnesses.example/b`]],
    ] as const) {
      const res = await install(w, [...extra]);
      expect(res.exitCode, res.stderr).toBe(0);
      const h = json<WitnessHandover>(res);
      handovers[w] = h;
      expect(h.smoke?.ok).toBe(true);
      expect(h.smoke?.checks.map((c) => c.name)).toEqual([
        'witness answers',
        'unknown log refused',
        'wrong log key refused',
        'test log cosigned',
      ]);
      expect(h.policyLine).toBe(`witness ${w} ${h.witnessVkey} https://${w}.witness.test:${ports[w]}`);
      const policy = parseWitnessPolicy(`${h.policyLine}\nquorum ${w}\n`, 'hand-over');
      expect(policy.witnesses[0]?.key.vkey).toBe(h.witnessVkey);
      expect(policy.witnesses[0]?.url).toBe(h.url);
    }
    expect(handovers[W1]!.witnessName).toBe(`${W1}.witness.test`);
    expect(handovers[W2]!.witnessName).toBe(`${W2}.witnesses.example/b`);
    expect(handovers[W1]!.witnessVkey).not.toBe(handovers[W2]!.witnessVkey);
  }, 600_000);

  it('a rerun keeps the key and the name, and the smoke test passes again (the witness already holds its test log)', async () => {
    const res = await install(W1);
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<WitnessHandover & { mode: string }>(res);
    expect(h.mode).toBe('rerun');
    expect(h.witnessVkey).toBe(handovers[W1]!.witnessVkey);
    expect(h.smoke?.ok).toBe(true);
  }, 300_000);

  it('a registered log is cosigned through nginx and the cosignature verifies; an unregistered one is refused', async () => {
    const r = needRig();
    // tlog-witness says 404; omniwitness at the pinned commit answers 500 (its SQLite store reports
    // an unknown log as a failed query). Refused either way, with no cosignature.
    const unknown = addCheckpoint(W1, `old 0\n\n${checkpoint(1)}`);
    expect([404, 500]).toContain(unknown.status);
    expect(unknown.body).not.toContain('—');
    const vkey = noteVerifierKey(origin, createPublicKey(logKey));
    const args = ['witness', 'add-log', '--instance', W1, '--data-dir', dataDir(W1), '--origin', origin];
    const add = await runOffline(r, [...args, '--vkey', vkey, '--url', 'https://log.test:3443', '--json']);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(json<{ changed: boolean }>(add).changed).toBe(true);
    const again = await runOffline(r, [...args, '--vkey', vkey, '--url', 'https://log.test:3443', '--json']);
    expect(json<{ changed: boolean }>(again).changed).toBe(false);
    const other = noteVerifierKey(origin, generateKeyPairSync('ed25519').publicKey);
    const conflict = await runOffline(r, [...args, '--vkey', other]);
    expect(conflict.exitCode).toBe(2);
    expect(conflict.stderr).toContain('WITNESS_LOG_CONFLICT');

    const note = checkpoint(1);
    const res = addCheckpoint(W1, `old 0\n\n${note}`);
    expect(res.status, res.body).toBe(200);
    const cosigned = verifyCosignature(note + res.body, parseCosignatureVkey(handovers[W1]!.witnessVkey));
    expect(cosigned?.name).toBe(handovers[W1]!.witnessName);
    expect(Math.abs(cosigned!.timestamp - Date.now() / 1000)).toBeLessThan(600);
    // The other witness does not know this log.
    expect([404, 500]).toContain(addCheckpoint(W2, `old 0\n\n${note}`).status);

    const status = await runOffline(r, ['status', '--instance', W1, '--data-dir', dataDir(W1), '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(json<{ witnessed: Record<string, number> }>(status).witnessed[origin]).toBe(1);
  }, 300_000);

  it('backs up the witness; a restore of it after the witness cosigned more is refused (exit 15)', async () => {
    const r = needRig();
    const archive = path.join(dir, 'w1.tar');
    const b = await runOffline(r, [
      'backup',
      '--instance',
      W1,
      '--data-dir',
      dataDir(W1),
      '--out',
      archive,
      '--passphrase-file',
      backupPass(),
      '--json',
    ]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(json<{ witnessed: Array<{ origin: string; size: number }> }>(b).witnessed).toContainEqual({
      origin,
      size: 1,
    });
    // The log grows to 2 (proof of 1 → 2: the second leaf); the witness cosigns it.
    const grown = addCheckpoint(W1, `old 1\n${leaves[1]!.toString('base64')}\n\n${checkpoint(2)}`);
    expect(grown.status, grown.body).toBe(200);
    const restore = await runOffline(r, [
      'restore',
      archive,
      '--instance',
      W1,
      '--data-dir',
      dataDir(W1),
      '--passphrase-file',
      backupPass(),
    ]);
    expect(restore.exitCode, restore.stderr).toBe(15);
    expect(restore.stderr).toContain('RESTORE_WITNESS_ROLLBACK_REFUSED');
    expect(restore.stderr).toContain(`${origin}: cosigned 2, the backup holds 1`);
    // Refused before anything changed: the witness still holds size 2.
    const stale = addCheckpoint(W1, `old 1\n\n${checkpoint(1)}`);
    expect(stale.status).toBe(409);
    expect(stale.body.trim()).toBe('2');
  }, 600_000);
});
