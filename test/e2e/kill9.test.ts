/**
 * kill -9 at random points of create, pack, unpack and install (real child processes of the built
 * CLI). After each kill: nothing partial is used as whole (an unfinished bundle, medium or unpack
 * fails verification by name), a rerun completes and verifies, no container of the failed attempt
 * is left beyond the instance's own, and a running log's data is untouched.
 *
 * KILL_RUNS kills per command (default 3; install 2, or KILL_INSTALL_RUNS). A long run:
 * KILL_RUNS=50 npm run test:kill9.
 * KILL_SEED replays a run (the seed is printed).
 */
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, json, runCli } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, projectContainerNames, runOffline } from '../helpers/offline.js';
import { needRig, rigSources, rig } from '../helpers/rig.js';
import { syntheticBundle } from '../helpers/synthetic-bundle.js';
import { TiledTree } from '../../src/rekor/tiles.js';

const RUNS = Number(process.env.KILL_RUNS ?? 3);
const INSTALL_RUNS = Number(process.env.KILL_INSTALL_RUNS ?? process.env.KILL_RUNS ?? 2);
const SEED = Number(process.env.KILL_SEED ?? Date.now() % 1_000_000);
process.stderr.write(`kill -9 suite: KILL_SEED=${SEED}, ${RUNS} kills per command\n`);

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);

/** Runs the CLI (optionally inside the offline namespace), kills it with SIGKILL after `ms`; true if it was still running. */
async function killAfter(args: string[], ms: number, offline = false): Promise<boolean> {
  const r = needRig();
  const cmd = offline
    ? ['/usr/bin/nsenter', `--net=/var/run/netns/${r.offlineNetns}`, process.execPath, CLI, ...args]
    : [process.execPath, CLI, ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), {
    stdio: 'ignore',
    env: { ...process.env, DOCKER_HOST: r.offlineDockerHost },
  });
  let exited = false;
  const done = new Promise<void>((res) =>
    child.on('exit', () => {
      exited = true;
      res();
    }),
  );
  await new Promise((res) => setTimeout(res, ms));
  const wasRunning = !exited;
  if (wasRunning) {
    // nsenter execs node in place, so the pid is the CLI's own.
    child.kill('SIGKILL');
  }
  await done;
  return wasRunning;
}

/**
 * Kills the command at a random point of a run as long as the timed one. A run that finished
 * before the kill proved nothing: its output is removed and it runs again, killed twice as soon
 * (up to six tries). Returns whether a kill landed while the command ran.
 */
async function killMidway(args: string[], out: string, fullMs: number): Promise<boolean> {
  let delay = random() * fullMs;
  for (let attempt = 0; attempt < 6; attempt++) {
    if (await killAfter(args, Math.floor(delay))) return true;
    rmSync(out, { recursive: true, force: true });
    delay /= 2;
  }
  return false;
}

async function timed(fn: () => Promise<{ exitCode: number; stderr: string }>): Promise<number> {
  const t = Date.now();
  const r = await fn();
  expect(r.exitCode, r.stderr).toBe(0);
  return Date.now() - t;
}

describe.skipIf(!rig)('kill -9 at any point', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;

  beforeAll(async () => {
    dir = tempDir('kill9-');
    key = await makeSigningKey(dir);
    // A synthetic bundle of ~60 MiB, signed with the CLI's key, for pack and unpack.
    const pk = createPrivateKey({
      key: readFileSync(key.key),
      passphrase: readFileSync(key.passphraseFile, 'utf8').replace(/\n$/, ''),
    });
    bundle = syntheticBundle(path.join(dir, 'synthetic'), pk, {
      'images/blobs/sha256/aaaa': 24 * 1024 * 1024,
      'images/blobs/sha256/bbbb': 20 * 1024 * 1024,
      'images/index.json': 300,
      'install.sh': 120,
      'templates/rekor-v2/compose.yaml': 900,
      'installer/node': 16 * 1024 * 1024,
    }).dir;
  });

  it(`pack: ${RUNS} kills; an unfinished medium never verifies, and a rerun into the same directory completes`, async () => {
    const packArgs = (out: string) => [
      'bundle',
      'pack',
      bundle,
      '--out',
      out,
      '--chunk-size',
      '8MiB',
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      '--quiet',
    ];
    const full = await timed(() => runCli(packArgs(path.join(dir, 'pack-timing'))));
    for (let i = 0; i < RUNS; i++) {
      const out = path.join(dir, `pack-${i}`);
      const killed = await killMidway(packArgs(out), out, full);
      expect(killed, `pack run ${i} was never killed while it ran`).toBe(true);
      if (!existsSync(path.join(out, 'transfer-index.json'))) {
        const v = await runCli(['bundle', 'verify', out, '--trust', key.pub, '--quiet']);
        expect(v.exitCode, v.stderr).not.toBe(0);
        expect(v.stderr).toMatch(/MEDIA_INDEX_MISSING|BUNDLE_MANIFEST_MISSING/);
      }
      if (!existsSync(path.join(out, 'transfer-index.json'))) {
        const again = await runCli(packArgs(out));
        expect(again.exitCode, again.stderr).toBe(0);
      }
      const ok = await runCli(['bundle', 'verify', out, '--trust', key.pub, '--quiet']);
      expect(ok.exitCode, ok.stderr).toBe(0);
    }
  });

  it(`unpack: ${RUNS} kills; nothing appears in --to before all is verified, and a rerun (with or without --resume) completes`, async () => {
    const media = path.join(dir, 'media');
    expect(
      (
        await runCli([
          'bundle',
          'pack',
          bundle,
          '--out',
          media,
          '--chunk-size',
          '8MiB',
          '--key',
          key.key,
          '--passphrase-file',
          key.passphraseFile,
          '--quiet',
        ])
      ).exitCode,
    ).toBe(0);
    const unpackArgs = (to: string, resume: boolean) => [
      'bundle',
      'unpack',
      media,
      '--to',
      to,
      '--trust',
      key.pub,
      '--quiet',
      ...(resume ? ['--resume'] : []),
    ];
    const full = await timed(() => runCli(unpackArgs(path.join(dir, 'unpack-timing'), false)));
    for (let i = 0; i < RUNS; i++) {
      const to = path.join(dir, `unpack-${i}`);
      expect(await killMidway(unpackArgs(to, false), to, full), `unpack run ${i} was never killed while it ran`).toBe(
        true,
      );
      const whole = existsSync(path.join(to, 'bundle.json'));
      if (!whole) {
        // Not whole: the bundle does not verify.
        const v = await runCli(['bundle', 'verify', to, '--trust', key.pub, '--quiet']);
        expect(v.exitCode).not.toBe(0);
      }
      if (!whole || existsSync(path.join(to, '.rekor-airgap-unpack'))) {
        // Killed before the end, or while the commit moved the bundle in: a rerun completes.
        const again = await runCli(unpackArgs(to, i % 2 === 0));
        expect(again.exitCode, again.stderr).toBe(0);
      }
      const ok = await runCli(['bundle', 'verify', to, '--trust', key.pub, '--quiet']);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(existsSync(path.join(to, '.rekor-airgap-unpack'))).toBe(false);
    }
  });

  it(`create: ${RUNS} kills; an unfinished bundle is never signed, and a rerun completes and verifies`, async () => {
    const r = needRig();
    const createArgs = (out: string) => [
      'bundle',
      'create',
      '--quiet',
      '--profile',
      'rekor-v2',
      '--out',
      out,
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      ...rigSources(r),
    ];
    const full = await timed(() => runCli(createArgs(path.join(dir, 'create-timing'))));
    for (let i = 0; i < RUNS; i++) {
      const out = path.join(dir, `create-${i}`);
      const killed = await killMidway(createArgs(out), out, full);
      expect(killed, `create run ${i} was never killed while it ran`).toBe(true);
      const signed = existsSync(path.join(out, 'bundle.json.sig'));
      const marker = existsSync(path.join(out, '.rekor-airgap-incomplete'));
      expect(signed && marker, 'a signature beside the unfinished marker').toBe(false);
      if (!signed) {
        const v = await runCli(['bundle', 'verify', out, '--trust', key.pub, '--quiet']);
        expect(v.exitCode).not.toBe(0);
      }
      const again = await runCli(createArgs(out));
      // A bundle that was already complete is refused without --force: that is a finished create.
      expect([0, 2], again.stderr).toContain(again.exitCode);
      const ok = await runCli(['bundle', 'verify', out, '--trust', key.pub, '--quiet']);
      expect(ok.exitCode, ok.stderr).toBe(0);
    }
  });

  describe('install', () => {
    let created: string;
    const instances: string[] = [];
    const dataDir = (i: string) => path.join(dir, 'data', i);

    beforeAll(async () => {
      const r = needRig();
      created = path.join(dir, 'rekor-v2-bundle');
      const c = await runCli([
        'bundle',
        'create',
        '--quiet',
        '--profile',
        'rekor-v2',
        '--out',
        created,
        '--key',
        key.key,
        '--passphrase-file',
        key.passphraseFile,
        ...rigSources(r),
      ]);
      expect(c.exitCode, c.stderr).toBe(0);
    });

    afterAll(async () => {
      for (const i of instances)
        await runOffline(needRig(), [
          'bundle',
          'uninstall',
          '--instance',
          i,
          '--data-dir',
          dataDir(i),
          '--purge',
          '--quiet',
        ]);
    });

    const installArgs = (instance: string, port: number) => [
      'bundle',
      'install',
      created,
      '--trust',
      key.pub,
      '--instance',
      instance,
      '--data-dir',
      dataDir(instance),
      '--hostname',
      `${instance}.rekor.test`,
      '--port',
      String(port),
      '--timeout',
      '180',
      '--quiet',
      '--json',
    ];

    it(`${INSTALL_RUNS} kills of a fresh install, and of a rerun over a live log: the rerun completes, only the instance's containers remain, and the log keeps its key and entries`, async () => {
      const r = needRig();
      for (let i = 0; i < INSTALL_RUNS; i++) {
        const instance = `k9-${SEED % 10000}-${i}`;
        instances.push(instance);
        const port = freeOfflinePort(r);
        // A fresh install, killed at a random point of its first ~25 s (verify, load, configure, start).
        // One that finished first proved nothing: it is removed and run again, killed twice as soon.
        let delay = 500 + random() * 25_000;
        let killed = false;
        for (let attempt = 0; attempt < 5 && !killed; attempt++, delay /= 2) {
          killed = await killAfter(installArgs(instance, port), Math.floor(delay), true);
          if (!killed)
            await runOffline(r, [
              'bundle',
              'uninstall',
              '--instance',
              instance,
              '--data-dir',
              dataDir(instance),
              '--purge',
              '--quiet',
            ]);
        }
        expect(killed, `the fresh install of ${instance} was never killed while it ran`).toBe(true);
        const first = await runOffline(r, installArgs(instance, port));
        expect(first.exitCode, first.stderr).toBe(0);
        const services = () =>
          projectContainerNames(r, `rekor-airgap-${instance}`)
            .map((n) => n.replace(/^rekor-airgap-[^_]+_/, '').replace(/_\d+$/, ''))
            .sort();
        expect(services()).toEqual(['nginx', 'rekor']);
        const before = json<{ log: { size: number; rootHex: string } }>(
          await runOffline(r, ['status', '--instance', instance, '--data-dir', dataDir(instance), '--json']),
        );
        const keyBefore = readFileSync(path.join(dataDir(instance), 'log-public.pem'), 'utf8');
        // A rerun over the live log, killed at a random point.
        await killAfter(installArgs(instance, port), Math.floor(random() * 15_000), true);
        const again = await runOffline(r, installArgs(instance, port));
        expect(again.exitCode, again.stderr).toBe(0);
        expect(services()).toEqual(['nginx', 'rekor']);
        expect(readFileSync(path.join(dataDir(instance), 'log-public.pem'), 'utf8')).toBe(keyBefore);
        const after = json<{ log: { size: number } }>(
          await runOffline(r, ['status', '--instance', instance, '--data-dir', dataDir(instance), '--json']),
        );
        expect(after.log.size).toBeGreaterThanOrEqual(before.log.size);
        // The entries before the kill are still the log's first ones: the tiles on disk hash the
        // first `before.log.size` leaves to the root published then.
        const tree = new TiledTree(
          after.log.size,
          async (p) => new Uint8Array(readFileSync(path.join(dataDir(instance), 'log', p))),
        );
        expect(Buffer.from(await tree.subtreeHash(0, before.log.size)).toString('hex')).toBe(before.log.rootHex);
        const smoke = await runOffline(r, [
          'smoke',
          '--instance',
          instance,
          '--data-dir',
          dataDir(instance),
          '--quiet',
        ]);
        expect(smoke.exitCode, smoke.stderr).toBe(0);
      }
    });
  });
});
