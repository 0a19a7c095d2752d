/**
 * Faults while a writer submits entries, on the air-gapped engine: kill -9 of each server process
 * from the host (the engine's restart policy brings it back; `docker kill` would be a manual stop),
 * the log's volume filling up, and a restart of the whole engine (as a host reboot). After each:
 * every entry answered 201 is in the log with a valid inclusion proof under a checkpoint consistent
 * with every earlier one (`log get`, `status` and the checkpoint history); entries answered with an
 * error may be absent; the log serves again by itself (or after the one named action for a full
 * volume); `status` says what it sees while the fault lasts.
 *
 * The engine restart is the last describe: it stops every container of the air-gapped engine, which
 * is safe only because e2e files run one at a time (vitest.config.ts) under the rig's lock, and
 * every instance there is restarted by its restart policy, as on a host that boots.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, ROOT, runCli } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, offlineDocker, runOffline } from '../helpers/offline.js';
import { needRig, rigSources, rig, type Rig } from '../helpers/rig.js';

interface Answer {
  status: number;
  index?: number;
  digest: string;
}
interface WriteResult {
  created: number;
  answers: Answer[];
  s429: number;
  s5xx: number;
  other: number;
}
interface Status {
  containers: Array<{ service: string; state: string; restartCount: number }>;
  log: { size?: number; error?: string };
  volumes?: Array<{ dir: string; full: boolean; action?: string }>;
}

const RUN = `f${Date.now().toString(36).slice(-5)}`;
const timings: string[] = [];

/** Writes for `seconds` with two clients through nginx, from inside the air-gapped namespace. */
function writeFor(r: Rig, inst: Inst, seconds: number): Promise<WriteResult> {
  const ep = { host: '127.0.0.1', port: inst.port, tls: { ca: `${inst.dataDir}/tls/ca.crt`, servername: inst.host } };
  const cfg = {
    api: inst.api,
    clients: 2,
    seconds,
    record: true,
    maxRequests: 2000,
    write: ep,
    checkpoint: { ...ep, path: inst.api === 'v2' ? '/checkpoint' : '/api/v1/log' },
  };
  return new Promise((res, rej) => {
    const c = spawn(
      '/usr/bin/nsenter',
      [
        `--net=/var/run/netns/${r.offlineNetns}`,
        process.execPath,
        path.join(ROOT, 'bench/log-load-client.mjs'),
        JSON.stringify(cfg),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) =>
      code === 0 ? res(JSON.parse(out) as WriteResult) : rej(new Error(`writer exited ${code}`)),
    );
  });
}

interface Inst {
  name: string;
  api: 'v2' | 'v1';
  dataDir: string;
  host: string;
  port: number;
  project: string;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

function containerId(r: Rig, project: string, service: string): string {
  return offlineDocker(
    r,
    'ps',
    '-aq',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  ).trim();
}

/** kill -9 of the service's main process, by its host PID (the engine's restart policy applies). */
function kill9(r: Rig, inst: Inst, service: string): void {
  const pid = Number(offlineDocker(r, 'inspect', '-f', '{{.State.Pid}}', containerId(r, inst.project, service)).trim());
  expect(pid).toBeGreaterThan(1);
  process.kill(pid, 'SIGKILL');
}

async function status(r: Rig, inst: Inst): Promise<{ exitCode: number; s: Status }> {
  const st = await runOffline(r, [
    'status',
    '--instance',
    inst.name,
    '--data-dir',
    inst.dataDir,
    '--json',
    '--timeout',
    '20',
  ]);
  return { exitCode: st.exitCode, s: st.exitCode === 0 ? json<Status>(st) : ({} as Status) };
}

/** Until every service runs again and the log answers (no operator: the engine restarts them). */
async function waitServing(r: Rig, inst: Inst, services: string[], ms = 90_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const { exitCode, s } = await status(r, inst);
    const running = services.every((svc) => s.containers?.some((c) => c.service === svc && c.state === 'running'));
    if (exitCode === 0 && running && s.log?.size !== undefined) return;
    if (Date.now() > until) throw new Error(`${inst.name} did not serve again: ${JSON.stringify(s)}`);
    await sleep(1000);
  }
}

/**
 * Every entry answered 201 is in the log: `log get` proves it into the current signed checkpoint
 * and shows our digest; `status` records that checkpoint only if it is consistent with every one
 * kept before (a fork fails it, exit 14). Errors are only what a fault explains.
 */
async function expectNothingLost(r: Rig, inst: Inst, w: WriteResult): Promise<void> {
  const st = await status(r, inst);
  expect(st.exitCode).toBe(0);
  const ok = w.answers.filter((a) => a.status === 201);
  expect(ok.length).toBeGreaterThan(0);
  for (const a of w.answers) expect([201, 429, 500, 502, 503, 504, 0]).toContain(a.status);
  for (let i = 0; i < ok.length; i += 4) {
    await Promise.all(
      ok.slice(i, i + 4).map(async (a) => {
        const g = await runOffline(r, [
          'log', 'get', '--instance', inst.name, '--data-dir', inst.dataDir, '--index', String(a.index), '--json',
        ]); // prettier-ignore
        expect(g.exitCode, g.stderr).toBe(0);
        expect(json<{ digest: string }>(g).digest).toBe(`sha256:${a.digest}`);
      }),
    );
  }
}

/** The writer ran on after the fault: 201s answered after it prove the log serves again by itself. */
function answeredAfter(w: WriteResult, n: number): void {
  const lastError = w.answers.map((a) => a.status !== 201).lastIndexOf(true);
  expect(w.answers.slice(lastError + 1).filter((a) => a.status === 201).length).toBeGreaterThanOrEqual(n);
}

async function timed(label: string, fn: () => Promise<void>): Promise<void> {
  const t = Date.now();
  await fn();
  timings.push(`${label}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

let dir: string;
let key: SigningKey;
let bundle: string;

async function install(
  r: Rig,
  api: 'v2' | 'v1',
  extra: string[] = [],
  dataDir?: string,
  tag: string = api,
): Promise<Inst> {
  const name = `${RUN}-${tag}`;
  const inst: Inst = {
    name,
    api,
    dataDir: dataDir ?? path.join(dir, 'data', name),
    host: `${name}.rekor.test`,
    port: freeOfflinePort(r),
    project: `rekor-airgap-${name}`,
  };
  const i = await runOffline(r, [
    'bundle', 'install', bundle, '--trust', key.pub, '--profile', `rekor-${api}`, '--instance', name,
    '--data-dir', inst.dataDir, '--hostname', inst.host, '--port', String(inst.port), '--json', '--timeout', '180',
    '--checkpoint-interval', '1s', '--no-smoke', ...extra,
  ]); // prettier-ignore
  expect(i.exitCode, i.stderr).toBe(0);
  return inst;
}

async function uninstall(r: Rig, inst: Inst | undefined): Promise<void> {
  if (inst)
    await runOffline(r, [
      'bundle',
      'uninstall',
      '--instance',
      inst.name,
      '--data-dir',
      inst.dataDir,
      '--purge',
      '--quiet',
    ]);
}

describe.skipIf(!rig)('faults while writing: nothing answered 201 is lost', () => {
  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('faults-');
    key = await makeSigningKey(dir);
    bundle = path.join(dir, 'bundle');
    const c = await runCli([
      'bundle', 'create', '--quiet', '--profile', 'rekor-v2', '--profile', 'rekor-v1', '--out', bundle,
      '--key', key.key, '--passphrase-file', key.passphraseFile, ...rigSources(r),
    ]); // prettier-ignore
    expect(c.exitCode, c.stderr).toBe(0);
  });
  afterAll(() => process.stderr.write(`fault suite timings:\n  ${timings.join('\n  ')}\n`));

  describe('rekor-v2', () => {
    let v2: Inst | undefined;
    let mount: string | undefined;
    afterAll(async () => {
      await uninstall(needRig(), v2);
      if (mount) spawnSync('umount', ['-l', mount]);
    });

    it('kill -9 of rekor-tiles: restarted by the engine, status reports the restart, every 201 provable', async () => {
      const r = needRig();
      // The log's directory on a small filesystem of its own (used by the full-volume test below).
      const dataDir = path.join(dir, 'data', `${RUN}-v2`);
      mount = path.join(dataDir, 'log');
      mkdirSync(mount, { recursive: true });
      const img = path.join(dir, 'v2-data.img');
      spawnSync('truncate', ['-s', '96M', img]);
      expect(spawnSync('mkfs.ext4', ['-q', '-F', img]).status).toBe(0);
      expect(spawnSync('mount', ['-o', 'loop', img, mount]).status).toBe(0);
      await timed('v2 install', async () => {
        v2 = await install(r, 'v2', [], dataDir);
      });
      const inst = v2!;
      await timed('v2 kill -9 rekor-tiles', async () => {
        const before = (await status(r, inst)).s.containers.find((c) => c.service === 'rekor')!.restartCount;
        const writing = writeFor(r, inst, 14);
        await sleep(4000);
        kill9(r, inst, 'rekor');
        await sleep(300);
        const during = await status(r, inst);
        expect(during.exitCode).toBe(0);
        const w = await writing;
        await waitServing(r, inst, ['rekor', 'nginx']);
        const after = (await status(r, inst)).s.containers.find((c) => c.service === 'rekor')!;
        expect(after.restartCount).toBe(before + 1);
        answeredAfter(w, 2);
        await expectNothingLost(r, inst, w);
      });
    });

    it('the log volume fills up: writes fail, status names the volume and the action; after it, writes resume', async () => {
      const r = needRig();
      const inst = v2!;
      await timed('v2 full volume', async () => {
        const filler = path.join(mount!, 'filler');
        const writing = writeFor(r, inst, 16);
        await sleep(3000);
        spawnSync('fallocate', ['-l', '200M', filler]); // fails at ENOSPC, leaving what fit
        spawnSync('dd', ['if=/dev/zero', `of=${filler}.2`, 'bs=64k'], { stdio: 'ignore' });
        await sleep(4000);
        const during = await status(r, inst);
        expect(during.exitCode).toBe(0);
        const vol = during.s.volumes?.find((v) => v.full);
        expect(vol, JSON.stringify(during.s)).toBeDefined();
        expect(vol!.action).toMatch(/free space/);
        // The one action: free space on the volume.
        spawnSync('rm', ['-f', filler, `${filler}.2`]);
        const w = await writing;
        await waitServing(r, inst, ['rekor', 'nginx']);
        const again = await writeFor(r, inst, 4);
        expect(again.created).toBeGreaterThan(0);
        expect((await status(r, inst)).s.volumes?.some((v) => v.full)).toBe(false);
        await expectNothingLost(r, inst, { ...w, answers: [...w.answers, ...again.answers] });
      });
    });
  });

  describe('rekor-v1', () => {
    let v1: Inst | undefined;
    afterAll(() => uninstall(needRig(), v1));

    it.each(['rekor', 'trillian-log-signer', 'mariadb'])(
      'kill -9 of %s: restarted by the engine, every 201 provable, the log consistent',
      async (service) => {
        const r = needRig();
        if (!v1) await timed('v1 install', async () => void (v1 = await install(r, 'v1')));
        const inst = v1!;
        await timed(`v1 kill -9 ${service}`, async () => {
          const writing = writeFor(r, inst, 16);
          await sleep(4000);
          kill9(r, inst, service);
          const w = await writing;
          await waitServing(r, inst, ['rekor', 'trillian-log-server', 'trillian-log-signer', 'mariadb', 'nginx']);
          const after = (await status(r, inst)).s.containers.find((c) => c.service === service)!;
          expect(after.restartCount).toBeGreaterThanOrEqual(1);
          const again = await writeFor(r, inst, 3);
          expect(again.created).toBeGreaterThan(0);
          await expectNothingLost(r, inst, { ...w, answers: [...w.answers, ...again.answers] });
        });
      },
    );
  });

  // Last: a restart of the whole air-gapped engine, as a host that reboots.
  describe('the engine restarts (a host reboot)', () => {
    let v2: Inst | undefined;
    afterAll(() => uninstall(needRig(), v2));

    it('the instance comes back by itself; every 201 from before the restart is provable', async () => {
      const r = needRig();
      // An instance of its own: the first v2 instance's directory was on the loop-mounted volume.
      v2 = await install(r, 'v2', [], undefined, 'boot');
      const inst = v2;
      await timed('engine restart', async () => {
        const w = await writeFor(r, inst, 4);
        const rebooted = spawnSync('bash', [path.join(ROOT, 'test/rig/rig'), 'reboot-offline'], { encoding: 'utf8' });
        expect(rebooted.status, rebooted.stderr).toBe(0);
        await waitServing(r, inst, ['rekor', 'nginx'], 120_000);
        const again = await writeFor(r, inst, 3);
        expect(again.created).toBeGreaterThan(0);
        await expectNothingLost(r, inst, { ...w, answers: [...w.answers, ...again.answers] });
      });
    });
  });
});
