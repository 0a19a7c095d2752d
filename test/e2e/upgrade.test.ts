/**
 * Real upgrades on the air-gapped engine: an instance installed from a bundle of the previous
 * upstream releases (rekor-tiles v2.3.0; rekor-server v1.5.4) is upgraded to the profiles' current
 * pins (v2.4.2; v1.6.1). The tool records the old checkpoint, copies the instance, switches images,
 * and requires a consistency proof from the old checkpoint to the new one; a failing upgrade goes
 * back to the previous release with the data as it was.
 */
import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, ROOT } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, runOffline } from '../helpers/offline.js';
import { needRig, rigSources, rig } from '../helpers/rig.js';

const RUN = `u${Date.now().toString(36).slice(-5)}`;

interface Status {
  log: { size: number; rootHex: string };
  containers: Array<{ service: string; state: string }>;
}

describe.skipIf(!rig)('upgrades between upstream releases keep the log', () => {
  let dir: string;
  let key: SigningKey;
  const bundles: Record<'previous' | 'current' | 'broken', string> = {} as never;
  const installed: string[] = [];
  const dataDir = (i: string) => path.join(dir, 'data', i);
  const install = (instance: string, bundle: string, extra: string[] = []) => {
    installed.push(instance);
    return runOffline(needRig(), [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--instance',
      instance,
      '--data-dir',
      dataDir(instance),
      '--hostname',
      `${instance}.rekor.test`,
      '--json',
      '--timeout',
      '180',
      ...extra,
    ]);
  };
  const status = async (instance: string) =>
    json<Status>(
      await runOffline(needRig(), ['status', '--instance', instance, '--data-dir', dataDir(instance), '--json']),
    );

  /** A copy of a shipped profile with other pins (same name: the package's templates go with it). */
  const profileWith = (name: string, release: number, refs: Record<string, string>): string => {
    let yaml = readFileSync(path.join(ROOT, 'bundles', `${name}.yaml`), 'utf8').replace(
      /^release: \d+$/m,
      `release: ${release}`,
    );
    for (const [from, to] of Object.entries(refs)) {
      expect(yaml).toContain(from);
      yaml = yaml.replace(from, to);
    }
    const d = path.join(dir, `profiles-${release}-${Object.keys(refs).length}`, 'bundles');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `${name}.yaml`), yaml);
    // Companions are looked up beside the profile (rekor-v2 carries the witness).
    copyFileSync(path.join(ROOT, 'bundles', 'witness.yaml'), path.join(d, 'witness.yaml'));
    return path.join(d, `${name}.yaml`);
  };

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('upgrade-test-');
    key = await makeSigningKey(dir);
    const create = async (out: string, profiles: string[]) => {
      const c = await runCli([
        'bundle',
        'create',
        '--quiet',
        ...profiles.flatMap((p) => ['--profile', p]),
        '--out',
        out,
        '--key',
        key.key,
        '--passphrase-file',
        key.passphraseFile,
        ...rigSources(r),
      ]);
      expect(c.exitCode, c.stderr).toBe(0);
      return out;
    };
    const current = readFileSync(path.join(ROOT, 'bundles/rekor-v2.yaml'), 'utf8');
    expect(current).toContain('rekor-tiles/posix:v2.4.2');
    bundles.previous = await create(path.join(dir, 'previous'), [
      profileWith('rekor-v2', 1, { 'rekor-tiles/posix:v2.4.2': 'rekor-tiles/posix:v2.3.0' }),
      profileWith('rekor-v1', 1, { 'rekor/rekor-server:v1.6.1': 'rekor/rekor-server:v1.5.4' }),
    ]);
    bundles.current = await create(path.join(dir, 'current'), ['rekor-v2', 'rekor-v1']);
    // A release whose log server cannot start: the MariaDB image in the place of rekor-tiles.
    bundles.broken = await create(path.join(dir, 'broken'), [
      profileWith('rekor-v2', 4, {
        'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2': 'docker.io/library/mariadb:11.8',
        // MariaDB is not signed by rekor-tiles' release workflow: this profile says so.
        'identity: https://github.com/sigstore/rekor-tiles/.github/workflows/build_container.yml@refs/tags/{tag}\n      issuer: https://token.actions.githubusercontent.com\n      predicateTypes: [https://slsa.dev/provenance/v1]':
          'unsigned: a broken release for the rollback test',
      }),
    ]);
  });

  afterAll(async () => {
    if (!rig) return;
    for (const i of new Set(installed))
      await runOffline(rig, ['bundle', 'uninstall', '--instance', i, '--data-dir', dataDir(i), '--purge', '--quiet']);
  });

  it('rekor-v2: v2.3.0 → v2.4.2 keeps every entry, proved consistent; a failing upgrade rolls back to v2.4.2 with the data as it was', async () => {
    const r = needRig();
    const u = `${RUN}-v2`;
    const port = String(freeOfflinePort(r));
    const first = await install(u, bundles.previous, ['--profile', 'rekor-v2', '--port', port]);
    expect(first.exitCode, first.stderr).toBe(0);
    for (let i = 0; i < 2; i++)
      expect((await runOffline(r, ['smoke', '--instance', u, '--data-dir', dataDir(u), '--quiet'])).exitCode).toBe(0);
    const before = await status(u);
    const entriesBefore = readFileSync(path.join(dataDir(u), 'log/tile/entries', `000.p/${before.log.size}`));

    const up = await install(u, bundles.current, ['--profile', 'rekor-v2']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(json<{ mode: string }>(up).mode).toBe('upgrade');
    expect(up.stderr).toContain(`recording the checkpoint of release 1 before the upgrade`);
    expect(up.stderr).toMatch(new RegExp(`upgrade kept the log: size ${before.log.size} → \\d+, consistent`));
    const state = JSON.parse(readFileSync(path.join(dataDir(u), 'state.json'), 'utf8'));
    expect(state.images.rekor.ref).toBe('ghcr.io/sigstore/rekor-tiles/posix:v2.4.2');
    const after = await status(u);
    expect(after.log.size).toBeGreaterThan(before.log.size);
    // Every entry written by v2.3.0 is still there, byte for byte, at the start of the log.
    const entriesAfter = readFileSync(
      path.join(dataDir(u), 'log/tile/entries', after.log.size >= 256 ? '000' : `000.p/${after.log.size}`),
    );
    expect(entriesAfter.subarray(0, entriesBefore.length).equals(entriesBefore)).toBe(true);

    const failed = await install(u, bundles.broken, ['--profile', 'rekor-v2', '--timeout', '40', '--no-smoke']);
    expect(failed.exitCode, failed.stderr).toBe(16);
    expect(failed.stderr).toContain('UPGRADE_ROLLED_BACK');
    expect(failed.stderr).toMatch(
      /Rolled back: release 3 \(.*rekor-tiles\/posix:v2\.4\.2.*\) runs again on the data as it was/,
    );
    const back = await status(u);
    expect(back.log).toEqual(after.log);
    expect(back.containers.every((c) => c.state === 'running')).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dataDir(u), 'state.json'), 'utf8')).highestRelease).toBe(3);
    const smoke = await runOffline(r, ['smoke', '--instance', u, '--data-dir', dataDir(u), '--quiet']);
    expect(smoke.exitCode, smoke.stderr).toBe(0);
  });

  it("rekor-v1: rekor-server v1.5.4 → v1.6.1 keeps every entry, proved consistent by the log's own proof", async () => {
    const r = needRig();
    const u = `${RUN}-v1`;
    const port = String(freeOfflinePort(r));
    const first = await install(u, bundles.previous, ['--profile', 'rekor-v1', '--port', port]);
    expect(first.exitCode, first.stderr).toBe(0);
    const before = await status(u);
    const up = await install(u, bundles.current, ['--profile', 'rekor-v1']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(json<{ mode: string }>(up).mode).toBe('upgrade');
    expect(up.stderr).toMatch(new RegExp(`upgrade kept the log: size ${before.log.size} → \\d+, consistent`));
    expect(JSON.parse(readFileSync(path.join(dataDir(u), 'state.json'), 'utf8')).images.rekor.ref).toBe(
      'ghcr.io/sigstore/rekor/rekor-server:v1.6.1',
    );
    const after = await status(u);
    expect(after.log.size).toBeGreaterThan(before.log.size);
  });
});
