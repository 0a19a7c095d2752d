/**
 * A Rekor v2 log rotated to a new shard, on the air-gapped engine, checked with cosign v3: a blob
 * signed into the old shard still verifies with the new shard's trust files, a blob signed with
 * the new signing config goes into the new shard, the old shard refuses writes (rekor-tiles
 * --read-only), and smoke and status say what each shard is.
 *
 * The new shard needs a name, other than the old one's, that the air-gapped namespace resolves
 * with no DNS: this host's own name (in /etc/hosts, as Debian writes it).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, runOffline } from '../helpers/offline.js';
import { createRigBundle } from '../helpers/rig-bundle.js';
import { needRig, rig } from '../helpers/rig.js';

const RUN = `r${Date.now().toString(36).slice(-5)}`;

interface Root {
  tlogs: Array<{ baseUrl: string; publicKey: { validFor: { start: string; end?: string } }; logId: { keyId: string } }>;
}
interface SigningConfig {
  rekorTlogUrls: Array<{ url: string; validFor: { start: string; end?: string }; operator: string }>;
}

describe.skipIf(!rig)('log rotate: a Rekor v2 log moves its writes to a new shard', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  const OLD = `${RUN}-old`;
  const NEW = `${RUN}-new`;
  let dataOld: string;
  let dataNew: string;
  let trustOld: string;
  let trustNew: string;
  let newHost: string;
  let rotated: {
    old: { url: string; readOnlySince: string; finalCheckpoint: { size: number } };
    new: { url: string; origin: string; logKeyId: string };
  };
  const cosign = (args: string[], caFile: string) =>
    spawnSync('nsenter', [`--net=/var/run/netns/${needRig().offlineNetns}`, needRig().cosign3, ...args], {
      encoding: 'utf8',
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', HOME: dir, SSL_CERT_FILE: caFile, COSIGN_PASSWORD: 'cosign key password' },
    });
  const signBlob = (trust: string, out: string, file = 'artifact.txt') =>
    cosign(
      [
        'sign-blob',
        '--key',
        'cosign.key',
        '--signing-config',
        path.join(trust, 'signing_config.json'),
        '--trusted-root',
        path.join(trust, 'trusted_root.json'),
        '--bundle',
        out,
        '--yes',
        file,
      ],
      path.join(trust, 'ca.crt'),
    );
  const verifyBlob = (trust: string, b: string, file = 'artifact.txt') =>
    cosign(
      [
        'verify-blob',
        '--key',
        'cosign.pub',
        '--bundle',
        b,
        '--trusted-root',
        path.join(trust, 'trusted_root.json'),
        file,
      ],
      path.join(trust, 'ca.crt'),
    );
  const rotate = (extra: string[] = []) =>
    runOffline(needRig(), [
      'log',
      'rotate',
      '--instance',
      OLD,
      '--data-dir',
      dataOld,
      '--new-instance',
      NEW,
      '--new-data-dir',
      dataNew,
      '--hostname',
      newHost,
      '--port',
      String(newPort),
      '--timeout',
      '180',
      '--json',
      ...extra,
    ]);
  let newPort: number;

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('rotate-test-');
    key = await makeSigningKey(dir);
    const made = await createRigBundle(r, dir, key);
    bundle = made.bundle;
    const c = made.result;
    expect(c.exitCode, c.stderr).toBe(0);
    dataOld = path.join(dir, 'data', OLD);
    dataNew = path.join(dir, 'data', NEW);
    newHost = os.hostname();
    expect(newHost).not.toBe('localhost');
    const oldPort = freeOfflinePort(r);
    do newPort = freeOfflinePort(r);
    while (newPort === oldPort);
    const i = await runOffline(r, [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--instance',
      OLD,
      '--data-dir',
      dataOld,
      '--hostname',
      'localhost',
      '--port',
      String(oldPort),
      '--quiet',
      '--timeout',
      '180',
    ]);
    expect(i.exitCode, i.stderr).toBe(0);
    trustOld = path.join(dir, 'trust-old');
    const t = await runOffline(r, ['trust', 'export', '--instance', OLD, '--data-dir', dataOld, '--out', trustOld]);
    expect(t.exitCode, t.stderr).toBe(0);
    expect(cosign(['generate-key-pair'], path.join(trustOld, 'ca.crt')).status).toBe(0);
    writeFileSync(path.join(dir, 'artifact.txt'), `an artifact of ${RUN}\n`);
    const s = signBlob(trustOld, 'old.sigstore.json');
    expect(s.status, s.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    if (!rig) return;
    for (const [name, data] of [
      [NEW, dataNew],
      [OLD, dataOld],
    ] as const)
      await runOffline(rig, ['bundle', 'uninstall', '--instance', name, '--data-dir', data, '--purge', '--quiet']);
  });

  it('refuses without the bundle (coded, naming it) before anything changes for the new shard; then rotates', async () => {
    const without = await rotate();
    expect(without.exitCode, without.stderr).toBe(2);
    expect(without.stderr).toContain('ROTATE_BUNDLE_NEEDED');
    expect(without.stderr).toContain('run the same command again to resume');
    // The journal names the rotation under way: another target is refused.
    const other = await runOffline(needRig(), [
      'log',
      'rotate',
      '--instance',
      OLD,
      '--data-dir',
      dataOld,
      '--new-instance',
      `${RUN}-x`,
      '--hostname',
      'x.example',
      '--port',
      '1',
    ]);
    expect(other.stderr).toContain('ROTATE_IN_PROGRESS');
    const r = await rotate(['--bundle', bundle, '--trust', key.pub]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('refuses writes');
    rotated = json<typeof rotated>(r);
    expect(rotated.new.origin).toBe(newHost);
    expect(rotated.old.finalCheckpoint.size).toBeGreaterThan(0);
    trustNew = path.join(dir, 'trust-new');
    const t = await runOffline(needRig(), [
      'trust',
      'export',
      '--instance',
      NEW,
      '--data-dir',
      dataNew,
      '--out',
      trustNew,
    ]);
    expect(t.exitCode, t.stderr).toBe(0);
  }, 900_000);

  it('the trust files list both logs: the old one ending at the switch, the new one first and where clients write', () => {
    const root = JSON.parse(readFileSync(path.join(trustNew, 'trusted_root.json'), 'utf8')) as Root;
    expect(root.tlogs.map((l) => l.baseUrl)).toEqual([rotated.new.url, rotated.old.url]);
    expect(root.tlogs[0]!.publicKey.validFor.end).toBeUndefined();
    expect(root.tlogs[1]!.publicKey.validFor.end).toBe(rotated.old.readOnlySince);
    expect(root.tlogs[0]!.logId.keyId).toBe(Buffer.from(rotated.new.logKeyId, 'hex').toString('base64'));
    const sc = JSON.parse(readFileSync(path.join(trustNew, 'signing_config.json'), 'utf8')) as SigningConfig;
    expect(sc.rekorTlogUrls.map((u) => u.url)).toEqual([rotated.new.url, rotated.old.url]);
    expect(sc.rekorTlogUrls[1]!.validFor.end).toBe(rotated.old.readOnlySince);
    expect(new Set(sc.rekorTlogUrls.map((u) => u.operator)).size).toBe(1);
    // The old instance's own trust files say the same (written again by the rotation).
    const oldRoot = JSON.parse(readFileSync(path.join(dataOld, 'trust', 'trusted_root.json'), 'utf8')) as Root;
    expect(oldRoot.tlogs.map((l) => l.baseUrl)).toEqual([rotated.new.url, rotated.old.url]);
  });

  it("cosign v3 verifies the old shard's bundle with the new trust files, and signs into the new shard", () => {
    const v = verifyBlob(trustNew, 'old.sigstore.json');
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr + v.stdout).toContain('Verified OK');
    const s = signBlob(trustNew, 'new.sigstore.json');
    expect(s.status, s.stderr).toBe(0);
    const entry = JSON.parse(readFileSync(path.join(dir, 'new.sigstore.json'), 'utf8')).verificationMaterial
      .tlogEntries[0];
    expect(entry.logId.keyId).toBe(Buffer.from(rotated.new.logKeyId, 'hex').toString('base64'));
    expect(entry.inclusionProof.checkpoint.envelope.split('\n')[0]).toBe(rotated.new.origin);
    const w = verifyBlob(trustNew, 'new.sigstore.json');
    expect(w.stderr + w.stdout).toContain('Verified OK');
  });

  it('the old shard refuses writes: cosign with its old signing config fails, the log stays at its final size', () => {
    const s = signBlob(trustOld, 'refused.sigstore.json');
    expect(s.status).not.toBe(0);
    expect(s.stderr).toMatch(/405|frozen/);
  });

  it('smoke and status tell the truth about both shards; a rerun changes nothing', async () => {
    const r = needRig();
    const plain = await runOffline(r, ['smoke', '--instance', OLD, '--data-dir', dataOld]);
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toContain('SMOKE_LOG_READ_ONLY');
    expect(plain.stderr).toContain('--read-only');
    const ro = await runOffline(r, ['smoke', '--instance', OLD, '--data-dir', dataOld, '--read-only', '--json']);
    expect(ro.exitCode, ro.stderr).toBe(0);
    const checks = json<{ checks: Array<{ name: string; ok: boolean }> }>(ro).checks.map((c) => c.name);
    expect(checks).toEqual(expect.arrayContaining(['writes refused (read-only)']));
    const st = await runOffline(r, ['status', '--instance', OLD, '--data-dir', dataOld, '--json']);
    expect(st.exitCode, st.stderr).toBe(0);
    const so = json<{
      mode: string;
      writesRefused: boolean;
      rotatedTo: { instance: string };
      log: { size: number };
    }>(st);
    expect([so.mode, so.writesRefused, so.rotatedTo.instance]).toEqual(['read-only', true, NEW]);
    expect(so.log.size).toBe(rotated.old.finalCheckpoint.size);
    const text = await runOffline(r, ['status', '--instance', OLD, '--data-dir', dataOld]);
    expect(text.stdout).toContain(`read-only (rotated to ${NEW} at ${rotated.old.readOnlySince}`);
    const sn = await runOffline(r, ['status', '--instance', NEW, '--data-dir', dataNew, '--json']);
    const n = json<{ mode: string; previousShards: Array<{ instance: string }> }>(sn);
    expect([n.mode, n.previousShards.map((p) => p.instance)]).toEqual(['read-write', [OLD]]);
    const smokeNew = await runOffline(r, ['smoke', '--instance', NEW, '--data-dir', dataNew, '--quiet']);
    expect(smokeNew.exitCode, smokeNew.stderr).toBe(0);
    const again = await rotate();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(json<{ alreadyDone: boolean }>(again).alreadyDone).toBe(true);
  }, 600_000);
});
