/**
 * The whole journey on the rig: bundle create (connected side) → pack into chunks → carry →
 * verify and unpack → install on the air-gapped engine (inside a namespace with no route out) →
 * smoke test, cross-checked by rekor-cli and a Go checker built on golang.org/x/mod/sumdb/note and
 * transparency-dev/merkle; then rerun, upgrade, a second tenant, and every bad input.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  rmSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  mkdirSync,
  symlinkSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, ROOT } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, inOffline, offlineDocker, projectContainerNames, runOffline } from '../helpers/offline.js';
import { startPostgres } from '../helpers/postgres.js';
import { needRig, rigSources, rig } from '../helpers/rig.js';
import { noteVerifierKey } from '../helpers/note-key.js';
import { cosignatureVkey } from '../../src/witness/cosignature.js';

interface Handover {
  mode: string;
  url: string;
  caCert: string;
  logPublicKey: string;
  origin: string;
  logKeyId: string;
  project: string;
  export: string;
  treeId?: string;
  smoke: { ok: boolean; checks: Array<{ name: string; ok: boolean }>; entries: Array<{ logIndex: number }> } | null;
}

const RUN = `t${Date.now().toString(36).slice(-5)}`;
const V2 = `${RUN}-v2`;
const V1 = `${RUN}-v1`;
const TENANT = `${RUN}-b`;

/**
 * Files and directories under `dir` that are group- or world-writable, or setuid/setgid/sticky.
 * `skip`: trees a service writes by itself inside its container (not what the restore laid out).
 */
function writableByOthers(dir: string, skip: readonly string[] = []): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      if (skip.includes(rel)) continue;
      let st;
      try {
        st = lstatSync(full);
      } catch {
        continue; /* removed by a running service meanwhile */
      }
      if (st.mode & 0o7022) found.push(`${rel} ${(st.mode & 0o7777).toString(8)}`);
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return found;
}

describe.skipIf(!rig)('install on the air-gapped engine', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  let since: string;
  const dataDir = (i: string) => path.join(dir, 'data', i);
  const installed: string[] = [];
  // Ports, chosen free in the offline namespace when the suite starts.
  const port: Record<
    | 'dry'
    | 'v2'
    | 'v1'
    | 'tenant'
    | 'compose'
    | 'corrupt'
    | 'failing'
    | 'engine'
    | 'toctou'
    | 'p1'
    | 'p2'
    | 'p3'
    | 'p4'
    | 'rv2'
    | 'rv1'
    | 'rpg',
    number
  > = {} as never;
  let backupPass: string;
  const install = async (instance: string, extra: string[], b = bundle) => {
    installed.push(instance);
    return runOffline(needRig(), [
      'bundle',
      'install',
      b,
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

  beforeAll(async () => {
    const r = needRig();
    for (const k of [
      'dry',
      'v2',
      'v1',
      'tenant',
      'compose',
      'corrupt',
      'failing',
      'engine',
      'toctou',
      'p1',
      'p2',
      'p3',
      'p4',
      'rv2',
      'rv1',
      'rpg',
    ] as const) {
      let p = freeOfflinePort(r);
      while (Object.values(port).includes(p)) p = freeOfflinePort(r);
      port[k] = p;
    }
    since = String(Math.floor(Date.now() / 1000));
    dir = tempDir('install-test-');
    key = await makeSigningKey(dir);
    backupPass = path.join(dir, 'backup-passphrase');
    writeFileSync(backupPass, 'a long backup passphrase for the tests\n', { mode: 0o600 });
    const created = path.join(dir, 'created');
    const c = await runCli([
      'bundle',
      'create',
      '--quiet',
      '--profile',
      'rekor-v2',
      '--profile',
      'rekor-v1',
      '--out',
      created,
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      ...rigSources(r),
    ]);
    expect(c.exitCode, c.stderr).toBe(0);
    const media = path.join(dir, 'usb');
    const p = await runCli([
      'bundle',
      'pack',
      created,
      '--out',
      media,
      '--chunk-size',
      '64MiB',
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      '--quiet',
    ]);
    expect(p.exitCode, p.stderr).toBe(0);
    // "Carry" the chunks to the other side, then verify and unpack there.
    const carried = path.join(dir, 'carried');
    cpSync(media, carried, { recursive: true });
    const u = await runOffline(r, [
      'bundle',
      'unpack',
      carried,
      '--to',
      path.join(dir, 'bundle'),
      '--trust',
      key.pub,
      '--quiet',
    ]);
    expect(u.exitCode, u.stderr).toBe(0);
    bundle = path.join(dir, 'bundle');
    // Start from an engine without the stack's images, so the install must load them itself.
    const refs = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')).images.map(
      (i: { ref: string }) => i.ref,
    );
    try {
      offlineDocker(r, 'rmi', '-f', ...refs);
    } catch {
      /* some were absent */
    }
  });

  afterAll(async () => {
    const r = rig;
    if (!r) return;
    for (const i of new Set(installed)) {
      await runOffline(r, ['bundle', 'uninstall', '--instance', i, '--data-dir', dataDir(i), '--purge', '--quiet']);
    }
  });

  it('bundle verify at the command line: exit 3 naming a damaged chunk, exit 4 naming a missing one', async () => {
    const r = needRig();
    const damaged = path.join(dir, 'damaged-usb');
    cpSync(path.join(dir, 'usb'), damaged, { recursive: true });
    const chunk = path.join(damaged, 'bundle.tar.001');
    const bytes = readFileSync(chunk);
    bytes[12345] = bytes[12345]! ^ 0xff;
    writeFileSync(chunk, bytes);
    const bad = await runOffline(r, ['bundle', 'verify', damaged, '--trust', key.pub, '--quiet']);
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('chunk 1 (bundle.tar.001): sha256 mismatch');
    rmSync(path.join(damaged, 'bundle.tar.002'));
    const missing = await runOffline(r, ['bundle', 'verify', damaged, '--trust', key.pub, '--quiet']);
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('chunk 2 missing: bundle.tar.002');
    const ok = await runOffline(r, [
      'bundle',
      'verify',
      path.join(dir, 'usb'),
      '--trust',
      key.pub,
      '--quiet',
      '--json',
    ]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).ok).toBe(true);
  });

  it('--dry-run verifies and preflights, says what it would do, and starts nothing', async () => {
    const res = await install(`${RUN}-dry`, ['--profile', 'rekor-v2', '--port', String(port.dry), '--dry-run']);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { dryRun: boolean; preflight: Array<{ name: string; status: string }> };
    expect(out.dryRun).toBe(true);
    expect(out.preflight.map((c) => `${c.name}:${c.status}`)).toEqual([
      'engine:ok',
      'compose:ok',
      'disk:ok',
      'ports:ok',
      'memory:ok',
      'clock:ok',
    ]);
    expect(projectContainerNames(needRig(), `rekor-airgap-${RUN}-dry`)).toEqual([]);
    const rekorRef = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')).images.find(
      (i: { name: string; profiles: string[] }) => i.name === 'rekor' && i.profiles.includes('rekor-v2'),
    ).ref as string;
    expect(offlineDocker(needRig(), 'images', '-q', rekorRef).trim()).toBe('');
  });

  it('installs Rekor v2 from the transferred bundle and passes the smoke test', async () => {
    const res = await install(V2, ['--profile', 'rekor-v2', '--port', String(port.v2), '--keep-ca-key']);
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<Handover>(res);
    expect(h.mode).toBe('fresh');
    expect(h.url).toBe(`https://${V2}.rekor.test:${port.v2}`);
    expect(h.export).toBe(`export AEVUM_REKOR_URL=https://${V2}.rekor.test:${port.v2}`);
    expect(h.smoke?.ok).toBe(true);
    expect(h.smoke?.checks.map((c) => c.name)).toContain(
      "consistency between the two checkpoints, from the log's tiles",
    );
  });

  it('the v2 smoke record is accepted by the independent Go checker, and a tampered one is not', async () => {
    const r = needRig();
    const out = path.join(dir, 'smoke-v2.json');
    const res = await runOffline(r, ['smoke', '--instance', V2, '--data-dir', dataDir(V2), '--json', '--output', out]);
    expect(res.exitCode, res.stderr).toBe(0);
    const record = JSON.parse(readFileSync(out, 'utf8'));
    expect(record.event_type).toBe('transparency.checkpoint');
    expect(Object.keys(record.payload).sort()).toEqual([
      'checkpoint',
      'digest',
      'inclusion_proof',
      'rekor_log_index',
      'rekor_server',
    ]);
    const ok = inOffline(r, r.goChecker, [
      '-record',
      out,
      '-key',
      path.join(dataDir(V2), 'log-public.pem'),
      '-origin',
      `${V2}.rekor.test`,
    ]);
    expect(ok).toContain('OK: entry');
    const bad = path.join(dir, 'smoke-v2-bad.json');
    const h = record.payload.inclusion_proof.hashes;
    h[0] = (h[0][0] === '0' ? '1' : '0') + h[0].slice(1);
    writeFileSync(bad, JSON.stringify(record));
    expect(() =>
      inOffline(r, r.goChecker, [
        '-record',
        bad,
        '-key',
        path.join(dataDir(V2), 'log-public.pem'),
        '-origin',
        `${V2}.rekor.test`,
      ]),
    ).toThrow(/inclusion/);
  });

  it('installs Rekor v1 (Trillian + MariaDB) and passes the smoke test; rekor-cli reads and verifies the same entries', async () => {
    const r = needRig();
    const res = await install(V1, ['--profile', 'rekor-v1', '--port', String(port.v1)]);
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<Handover>(res);
    expect(h.smoke?.ok).toBe(true);
    expect(h.treeId).toMatch(/^\d+$/);
    const status = json<{ log: { size: number }; containers: Array<{ service: string; state: string }> }>(
      await runOffline(r, ['status', '--instance', V1, '--data-dir', dataDir(V1), '--json']),
    );
    expect(status.log.size).toBeGreaterThanOrEqual(2);
    expect(status.containers.map((c) => `${c.service}:${c.state}`).sort()).toEqual([
      'mariadb:running',
      'nginx:running',
      'rekor:running',
      'trillian-log-server:running',
      'trillian-log-signer:running',
    ]);
    for (const e of h.smoke!.entries) {
      const got = inOffline(
        r,
        r.rekorCli,
        [
          '--rekor_server',
          `https://127.0.0.1:${port.v1}`,
          'get',
          '--log-index',
          String(e.logIndex),
          '--format',
          'json',
        ],
        { SSL_CERT_FILE: h.caCert },
      );
      expect(JSON.parse(got).LogIndex).toBe(e.logIndex);
    }
  });

  it("log get on the v1 log: the smoke test's entry by its record, proved with the log's own proof", async () => {
    const r = needRig();
    const recordFile = path.join(dir, 'v1-record.json');
    const sm = await runOffline(r, [
      'smoke',
      '--instance',
      V1,
      '--data-dir',
      dataDir(V1),
      '--output',
      recordFile,
      '--quiet',
    ]);
    expect(sm.exitCode, sm.stderr).toBe(0);
    const record = JSON.parse(readFileSync(recordFile, 'utf8')).payload as { rekor_log_index: number; digest: string };
    const g = await runOffline(r, [
      'log',
      'get',
      '--instance',
      V1,
      '--data-dir',
      dataDir(V1),
      '--record',
      recordFile,
      '--json',
    ]);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(json<{ logIndex: number; digest: string; record: { ok: boolean } }>(g)).toMatchObject({
      logIndex: record.rekor_log_index,
      digest: record.digest,
      record: { ok: true },
    });
    const d = json<Array<{ logIndex: number }>>(
      await runOffline(r, [
        'log',
        'get',
        '--instance',
        V1,
        '--data-dir',
        dataDir(V1),
        '--digest',
        record.digest,
        '--json',
      ]),
    );
    expect(d.map((e) => e.logIndex)).toContain(record.rekor_log_index);
  });

  it('the air-gapped engine pulled nothing: its event log has no pull', () => {
    const r = needRig();
    const events = offlineDocker(
      r,
      'events',
      '--since',
      since,
      '--until',
      String(Math.floor(Date.now() / 1000)),
      '--filter',
      'type=image',
      '--format',
      '{{.Action}} {{.Actor.ID}}',
    );
    expect(events).not.toMatch(/^pull /m);
    expect(events).toMatch(/^load /m);
  });

  it('a rerun of the same install changes nothing and keeps the key and the entries', async () => {
    const before = json<{ log: { size: number } }>(
      await runOffline(needRig(), ['status', '--instance', V2, '--data-dir', dataDir(V2), '--json']),
    );
    const first = JSON.parse(readFileSync(path.join(dataDir(V2), 'state.json'), 'utf8'));
    const res = await install(V2, ['--profile', 'rekor-v2', '--no-smoke']);
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<Handover>(res);
    expect(h.mode).toBe('rerun');
    expect(h.logKeyId).toBe(first.logKeyId);
    const after = json<{ log: { size: number } }>(
      await runOffline(needRig(), ['status', '--instance', V2, '--data-dir', dataDir(V2), '--json']),
    );
    expect(after.log.size).toBe(before.log.size);
  });

  it('an upgrade to a newer bundle keeps the log key and every entry', async () => {
    const r = needRig();
    const newer = path.join(dir, 'newer');
    const c = await runCli(
      [
        'bundle',
        'create',
        '--quiet',
        '--profile',
        'rekor-v2',
        '--out',
        newer,
        '--key',
        key.key,
        '--passphrase-file',
        key.passphraseFile,
        '--release',
        '4',
        ...rigSources(r),
      ],
      { env: { SOURCE_DATE_EPOCH: String(Math.floor(Date.now() / 1000) - 60) } },
    );
    expect(c.exitCode, c.stderr).toBe(0);
    const before = json<{ log: { size: number; rootHex: string } }>(
      await runOffline(r, ['status', '--instance', V2, '--data-dir', dataDir(V2), '--json']),
    );
    const first = JSON.parse(readFileSync(path.join(dataDir(V2), 'state.json'), 'utf8'));
    const res = await install(V2, [], newer);
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<Handover>(res);
    expect(h.mode).toBe('upgrade');
    expect(h.logKeyId).toBe(first.logKeyId);
    expect(h.smoke?.ok).toBe(true);
    // The smoke test after the upgrade added entries on top of the old tree: the first new entry's index is the old size.
    expect(h.smoke!.entries[0]!.logIndex).toBe(before.log.size);
  });

  it('the older bundle (release 3), validly signed, is refused over release 4: no rollback', async () => {
    const r = needRig();
    const before = readFileSync(path.join(dataDir(V2), 'state.json'), 'utf8');
    const res = await install(V2, ['--profile', 'rekor-v2'], bundle);
    expect(res.exitCode, res.stderr).toBe(8);
    expect(res.stderr).toMatch(
      /error \[INSTALL_DOWNGRADE_REFUSED\]: instance \S+ has run release 4; this bundle is release 3/,
    );
    expect(readFileSync(path.join(dataDir(V2), 'state.json'), 'utf8')).toBe(before);
    const status = json<{ containers: Array<{ state: string }> }>(
      await runOffline(r, ['status', '--instance', V2, '--data-dir', dataDir(V2), '--json']),
    );
    expect(status.containers.every((c) => c.state === 'running')).toBe(true);
  });

  it("a second tenant, installed with the bundle's own install.sh (its Node runtime, not this one), runs beside the first; both pass the smoke test", async () => {
    const r = needRig();
    installed.push(TENANT);
    const { execa } = await import('execa');
    const sh = await execa(
      '/usr/bin/nsenter',
      [
        `--net=/var/run/netns/${r.offlineNetns}`,
        path.join(bundle, 'install.sh'),
        '--trust',
        key.pub,
        '--profile',
        'rekor-v2',
        '--instance',
        TENANT,
        '--data-dir',
        dataDir(TENANT),
        '--hostname',
        `${TENANT}.rekor.test`,
        '--port',
        String(port.tenant),
        '--json',
        '--timeout',
        '180',
      ],
      { reject: false, env: { PATH: '/usr/bin:/bin', DOCKER_HOST: r.offlineDockerHost }, extendEnv: false },
    );
    expect(sh.exitCode, String(sh.stderr)).toBe(0);
    const b = JSON.parse(String(sh.stdout)) as Handover;
    const a = JSON.parse(readFileSync(path.join(dataDir(V2), 'state.json'), 'utf8'));
    expect(b.logKeyId).not.toBe(a.logKeyId);
    expect(b.project).not.toBe(a.project);
    for (const i of [V2, TENANT]) {
      const s = await runOffline(r, ['smoke', '--instance', i, '--data-dir', dataDir(i)]);
      expect(s.exitCode, `${i}: ${s.stdout}${s.stderr}`).toBe(0);
    }
  });

  describe('the deployed stack is hardened', () => {
    const offlineSh = (cmd: string, args: string[]) => {
      const r = needRig();
      return spawnSync('nsenter', [`--net=/var/run/netns/${r.offlineNetns}`, cmd, ...args], {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_HOST: r.offlineDockerHost },
      });
    };
    const containerOf = (instance: string, service: string) =>
      offlineDocker(
        needRig(),
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=rekor-airgap-${instance}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
      ).trim();

    it('nginx limits writes per client (429) and refuses large bodies (413)', () => {
      const ca = path.join(dataDir(V2), 'tls/ca.crt');
      const flood = offlineSh(process.execPath, [
        path.join(ROOT, 'test/helpers/flood.mjs'),
        `https://${V2}.rekor.test:${port.v2}/api/v2/log/entries`,
        ca,
        '400',
        '10',
      ]);
      const seen = JSON.parse(flood.stdout) as Record<string, number>;
      expect(seen['429'] ?? 0, flood.stdout).toBeGreaterThan(0);
      expect(seen['400'] ?? 0, flood.stdout).toBeGreaterThan(0);
      const big = offlineSh(process.execPath, [
        path.join(ROOT, 'test/helpers/flood.mjs'),
        `https://${V2}.rekor.test:${port.v2}/api/v2/log/entries`,
        ca,
        '1',
        String(2 * 1024 * 1024),
      ]);
      expect(JSON.parse(big.stdout)).toEqual({ 413: 1 });
    });

    it("rekor-tiles itself refuses bodies over 1 MiB (behind nginx's own limit), answering 'too large'", () => {
      const r = needRig();
      const probe = spawnSync(
        '/usr/bin/docker',
        [
          '-H',
          r.offlineDockerHost,
          'exec',
          '-i',
          containerOf(V2, 'nginx'),
          'curl',
          '-sS',
          '-m',
          '20',
          '-X',
          'POST',
          '-H',
          'content-type: application/json',
          '--data-binary',
          '@-',
          'http://rekor:3000/api/v2/log/entries',
        ],
        { input: Buffer.alloc(2 * 1024 * 1024, 0x20), encoding: 'utf8' },
      );
      expect(probe.stdout + probe.stderr).toMatch(/too large/i);
    });

    it("the log server is on an internal network only: no published port; another tenant's nginx cannot reach it, its own can", () => {
      const r = needRig();
      const rekor = containerOf(V2, 'rekor');
      const nets = JSON.parse(
        offlineDocker(r, 'inspect', '--format', '{{json .NetworkSettings.Networks}}', rekor),
      ) as Record<string, { IPAddress: string }>;
      expect(Object.keys(nets)).toEqual([`rekor-airgap-${V2}_backend`]);
      expect(
        JSON.parse(
          offlineDocker(r, 'network', 'inspect', '--format', '{{json .Internal}}', `rekor-airgap-${V2}_backend`),
        ),
      ).toBe(true);
      expect(offlineDocker(r, 'port', rekor).trim()).toBe('');
      const ip = Object.values(nets)[0]!.IPAddress;
      const probe = (instance: string) =>
        spawnSync(
          '/usr/bin/docker',
          [
            '-H',
            r.offlineDockerHost,
            'exec',
            containerOf(instance, 'nginx'),
            'curl',
            '-sS',
            '-m',
            '3',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            `http://${ip}:3000/healthz`,
          ],
          { encoding: 'utf8' },
        );
      expect(probe(V2).stdout).toBe('200');
      const other = probe(TENANT);
      expect(other.status).not.toBe(0);
      expect(other.stdout).not.toBe('200');
    });

    it('backup.sh runs the tool kept in the instance: the v1 archive is 0600 from its first byte, holds the dump, and ps never shows the database password', async () => {
      const out = path.join(dir, 'v1-backup-sh.tar');
      const password = readFileSync(path.join(dataDir(V1), 'secrets/db-root-password'), 'utf8').trim();
      // Sample every process's command line (the host sees the containers' processes) while the backup runs.
      let sawPassword = '';
      let samples = 0;
      const timer = setInterval(() => {
        samples++;
        for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            if (cmd.includes(password)) sawPassword = cmd.replace(/\0/g, ' ');
          } catch {
            /* gone */
          }
        }
      }, 5);
      const { execa } = await import('execa');
      const b = await execa(
        'nsenter',
        [
          `--net=/var/run/netns/${needRig().offlineNetns}`,
          path.join(dataDir(V1), 'scripts/backup.sh'),
          '--out',
          out,
          '--passphrase-file',
          backupPass,
        ],
        { reject: false, env: { ...process.env, DOCKER_HOST: needRig().offlineDockerHost } },
      );
      clearInterval(timer);
      expect(b.exitCode, String(b.stderr)).toBe(0);
      expect(readFileSync(path.join(dataDir(V1), 'scripts/backup.sh'), 'utf8')).toContain(`${dataDir(V1)}/tool/node`);
      expect(samples).toBeGreaterThan(3);
      expect(sawPassword).toBe('');
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const listing = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n');
      expect(listing).toEqual(
        expect.arrayContaining(['dump/trillian.sql', 'secrets.tar.age', 'backup.json', 'data/state.json']),
      );
      expect(listing.filter((f) => f.startsWith('data/secrets/') || f === 'data/tls/server.key')).toEqual([]);
      expect(listing.at(-2)).toBe('backup.json');
    });

    for (const kind of ['v2', 'v1'] as const) {
      it(`${kind}: backup, more entries, restore into a new instance — same checkpoint, tree re-derived, new entries consistent; a second restore over it would fork and is refused`, async () => {
        const r = needRig();
        const source = kind === 'v2' ? V2 : V1;
        const restored = `${RUN}-r${kind}`;
        installed.push(restored);
        const archive = path.join(dir, `${kind}-backup.tar`);
        const b = json<{ checkpoint: { size: number; rootHex: string } }>(
          await runOffline(r, [
            'backup',
            '--instance',
            source,
            '--data-dir',
            dataDir(source),
            '--out',
            archive,
            '--passphrase-file',
            backupPass,
            '--json',
            '--quiet',
          ]),
        );
        expect(b.checkpoint.size).toBeGreaterThan(0);
        // The source log moves on after the backup.
        const smoke = await runOffline(r, ['smoke', '--instance', source, '--data-dir', dataDir(source), '--quiet']);
        expect(smoke.exitCode, smoke.stderr).toBe(0);
        const res = await runOffline(r, [
          'restore',
          archive,
          '--instance',
          restored,
          '--data-dir',
          dataDir(restored),
          '--port',
          String(port[`r${kind}`]),
          '--passphrase-file',
          backupPass,
          '--json',
        ]);
        expect(res.exitCode, res.stderr).toBe(0);
        const out = json<{
          served: { size: number; rootHex: string };
          after: { size: number };
          audit?: string;
          url: string;
        }>(res);
        expect(out.served).toEqual(b.checkpoint);
        expect(out.after.size).toBeGreaterThan(b.checkpoint.size);
        if (kind === 'v2') expect(out.audit).toContain(`${b.checkpoint.size} entries in`);
        expect(out.url).toBe(`https://${source}.rekor.test:${port[`r${kind}`]}`);
        // Nothing the restore laid out, nor what MariaDB made from the dump (v1's db/), is
        // writable by group or others.
        expect(writableByOthers(dataDir(restored), [])).toEqual([]);
        // The restored instance is a working instance: status reads and records its checkpoint.
        const st = json<{ log: { size: number } }>(
          await runOffline(r, ['status', '--instance', restored, '--data-dir', dataDir(restored), '--json']),
        );
        expect(st.log.size).toBe(out.after.size);
        if (kind === 'v2') {
          // Tessera's own fsck re-derives the restored log's tree from its tiles. It exits 0 even
          // when it finds a fault, so its output is what is read.
          const verifier = path.join(dir, 'log-verifier');
          writeFileSync(
            verifier,
            noteVerifierKey(
              `${source}.rekor.test`,
              readFileSync(path.join(dataDir(restored), 'log-public.pem'), 'utf8'),
            ),
          );
          const fsck = spawnSync(
            r.tesseraFsck,
            ['--storage_url', `file://${dataDir(restored)}/log/`, '--public_key', verifier, '--ui=false'],
            { encoding: 'utf8' },
          );
          expect(fsck.stdout + fsck.stderr).toMatch(/Successfully fsck'd log with size \d+/);
          expect(fsck.stdout + fsck.stderr).not.toContain('fsck failed');
        }
        // The same archive over the instance that has since grown: a fork, refused; nothing changes.
        const again = await runOffline(r, [
          'restore',
          archive,
          '--instance',
          restored,
          '--data-dir',
          dataDir(restored),
          '--passphrase-file',
          backupPass,
        ]);
        expect(again.exitCode).toBe(15);
        expect(again.stderr).toContain('RESTORE_FORK_REFUSED');
        expect(again.stderr).toMatch(
          new RegExp(
            `published a checkpoint of size ${out.after.size}; this backup holds only ${b.checkpoint.size} entries`,
          ),
        );
        const st2 = json<{ log: { size: number } }>(
          await runOffline(r, ['status', '--instance', restored, '--data-dir', dataDir(restored), '--json']),
        );
        expect(st2.log.size).toBe(out.after.size);
      });
    }

    it('--force-fork restores the smaller tree, saying what clients will see; the abandoned checkpoint put back makes status report the fork (exit 14)', async () => {
      const r = needRig();
      const restored = `${RUN}-rv2`;
      const archive = path.join(dir, 'v2-backup.tar');
      const res = await runOffline(r, [
        'restore',
        archive,
        '--instance',
        restored,
        '--data-dir',
        dataDir(restored),
        '--passphrase-file',
        backupPass,
        '--force-fork',
      ]);
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/FORKS the log: entries \d+\.\.\d+ are gone/);
      const history = path.join(dataDir(restored), 'checkpoints');
      const abandoned = readdirSync(history).find((d) => d.startsWith('abandoned-'));
      expect(abandoned).toBeDefined();
      const notes = readdirSync(path.join(history, abandoned!)).sort();
      // The largest checkpoint of the abandoned history, back where the tool reads it.
      cpSync(path.join(history, abandoned!, notes.at(-1)!), path.join(history, notes.at(-1)!));
      const st = await runOffline(r, ['status', '--instance', restored, '--data-dir', dataDir(restored)]);
      expect(st.exitCode, st.stderr).toBe(14);
      expect(st.stderr).toMatch(/LOG_FORK.*FORK: the log now serves a checkpoint of size \d+/);
      rmSync(path.join(history, notes.at(-1)!));
    });

    it('a corrupted archive and a wrong passphrase are refused (exit 15); age -d opens the secrets with the passphrase', async () => {
      const r = needRig();
      const archive = path.join(dir, 'v2-backup.tar');
      const damaged = path.join(dir, 'v2-damaged.tar');
      const bytes = readFileSync(archive);
      const at = bytes.indexOf(Buffer.from('data/log/checkpoint')) + 512 + 10;
      bytes[at] = bytes[at]! ^ 0x20;
      writeFileSync(damaged, bytes);
      const bad = await runOffline(r, ['backup', 'verify', damaged, '--passphrase-file', backupPass]);
      expect(bad.exitCode).toBe(15);
      expect(bad.stderr).toMatch(/BACKUP_ARCHIVE_CORRUPT.*data\/log\/checkpoint is damaged/);
      const wrong = path.join(dir, 'wrong-pass');
      writeFileSync(wrong, 'not the passphrase at all\n');
      const wp = await runOffline(r, [
        'restore',
        archive,
        '--instance',
        `${RUN}-never`,
        '--data-dir',
        dataDir(`${RUN}-never`),
        '--passphrase-file',
        wrong,
      ]);
      expect(wp.exitCode).toBe(15);
      expect(wp.stderr).toContain('BACKUP_PASSPHRASE_WRONG');
      expect(existsSync(dataDir(`${RUN}-never`))).toBe(false);
      // Without this tool: tar and Debian's age.
      const x = path.join(dir, 'age-open');
      mkdirSync(x);
      execFileSync('tar', ['-xf', archive, '-C', x, 'secrets.tar.age']);
      const opened = spawnSync('script', ['-qec', `age -d -o ${x}/secrets.tar ${x}/secrets.tar.age`, '/dev/null'], {
        input: `${readFileSync(backupPass, 'utf8').trim()}\n`,
        encoding: 'utf8',
      });
      expect(opened.status, opened.stdout).toBe(0);
      const names = execFileSync('tar', ['-tf', `${x}/secrets.tar`], { encoding: 'utf8' }).split('\n');
      expect(names).toEqual(expect.arrayContaining(['secrets.json', 'secrets/log-signer.pem']));
      expect(execFileSync('tar', ['-xOf', `${x}/secrets.tar`, 'secrets/log-signer.pem'], { encoding: 'utf8' })).toBe(
        readFileSync(path.join(dataDir(V2), 'secrets/log-signer.pem'), 'utf8'),
      );
    });

    it('a backup.json edited without the passphrase (every 0755 made 0777, root owners made uid 1) fails verify and restore with exit 15, and the running instance is untouched', async () => {
      const r = needRig();
      const archive = path.join(dir, 'v2-backup.tar');
      const restored = `${RUN}-rv2`;
      const bytes = readFileSync(archive);
      // backup.json is the last entry; the same length keeps its tar header as it was.
      const start = bytes.lastIndexOf(Buffer.from('{\n  "format": "rekor-airgap-backup/2"'));
      const end = bytes.indexOf(Buffer.from('\n}\n'), start) + 3;
      const original = bytes.subarray(start, end).toString('utf8');
      const edited = original
        .replace(/"mode": 493,/g, '"mode": 511,')
        .replace(/"uid": 0,\n(\s+)"gid": 0/g, '"uid": 1,\n$1"gid": 1');
      expect(edited).not.toBe(original);
      expect(edited.length).toBe(original.length);
      const tampered = path.join(dir, 'v2-edited-manifest.tar');
      writeFileSync(tampered, Buffer.concat([bytes.subarray(0, start), Buffer.from(edited), bytes.subarray(end)]));
      const verify = await runOffline(r, ['backup', 'verify', tampered, '--passphrase-file', backupPass]);
      expect(verify.exitCode, verify.stderr).toBe(15);
      expect(verify.stderr).toMatch(/BACKUP_ARCHIVE_CORRUPT.*backup\.json is not the one the passphrase vouches for/);
      expect(verify.stdout).toBe('');
      const containers = offlineDocker(
        r,
        'ps',
        '-q',
        '--no-trunc',
        '--filter',
        `label=com.docker.compose.project=rekor-airgap-${restored}`,
      )
        .split('\n')
        .filter(Boolean)
        .sort();
      expect(containers.length).toBeGreaterThan(0);
      const state = readFileSync(path.join(dataDir(restored), 'state.json'), 'utf8');
      const siblings = readdirSync(path.dirname(dataDir(restored))).sort();
      // --force-fork: without it the restore would be refused as a fork, after the archive verified.
      const res = await runOffline(r, [
        'restore',
        tampered,
        '--instance',
        restored,
        '--data-dir',
        dataDir(restored),
        '--passphrase-file',
        backupPass,
        '--force-fork',
      ]);
      expect(res.exitCode, res.stderr).toBe(15);
      expect(res.stderr).toContain('BACKUP_ARCHIVE_CORRUPT');
      expect(res.stderr).not.toContain('stopping instance');
      expect(
        offlineDocker(
          r,
          'ps',
          '-q',
          '--no-trunc',
          '--filter',
          `label=com.docker.compose.project=rekor-airgap-${restored}`,
        )
          .split('\n')
          .filter(Boolean)
          .sort(),
      ).toEqual(containers);
      expect(readFileSync(path.join(dataDir(restored), 'state.json'), 'utf8')).toBe(state);
      expect(readdirSync(path.dirname(dataDir(restored))).sort()).toEqual(siblings);
    });

    it('backup drill passes for both stacks and prints its figures', async () => {
      const r = needRig();
      for (const instance of [V2, V1]) {
        const res = await runOffline(r, [
          'backup',
          'drill',
          '--instance',
          instance,
          '--data-dir',
          dataDir(instance),
          '--passphrase-file',
          backupPass,
          '--json',
        ]);
        expect(res.exitCode, res.stderr).toBe(0);
        const d = json<{
          ok: boolean;
          scratch: string;
          backup: { bytes: number; checkpoint: { size: number } };
          restore: { served: { size: number } };
        }>(res);
        expect(d.ok).toBe(true);
        expect(d.restore.served.size).toBe(d.backup.checkpoint.size);
        expect(projectContainerNames(r, `rekor-airgap-${d.scratch}`)).toEqual([]);
      }
    });

    it('a PostgreSQL hook puts the application store into the same archive and back: real rows round-trip', async () => {
      const r = needRig();
      const pg = startPostgres(tempDir('pg-'), 'aevum');
      try {
        pg.sql(
          "CREATE TABLE records (id serial PRIMARY KEY, digest text NOT NULL); INSERT INTO records (digest) VALUES ('sha256:aa'), ('sha256:bb'), ('sha256:cc')",
        );
        const hook = path.join(ROOT, 'examples/hooks/postgresql.sh');
        const archive = path.join(dir, 'v2-with-pg.tar');
        const b = await runOffline(
          r,
          [
            'backup',
            '--instance',
            V2,
            '--data-dir',
            dataDir(V2),
            '--out',
            archive,
            '--passphrase-file',
            backupPass,
            '--with',
            hook,
            '--json',
            '--quiet',
          ],
          { env: pg.env },
        );
        expect(b.exitCode, b.stderr).toBe(0);
        expect(json<{ hooks: string[] }>(b).hooks).toEqual(['postgresql']);
        expect(execFileSync('tar', ['-tf', archive], { encoding: 'utf8' })).toContain('hook/postgresql.out');
        pg.sql("DELETE FROM records WHERE digest = 'sha256:bb'; INSERT INTO records (digest) VALUES ('sha256:zz')");
        const restored = `${RUN}-rpg`;
        installed.push(restored);
        const res = await runOffline(
          r,
          [
            'restore',
            archive,
            '--instance',
            restored,
            '--data-dir',
            dataDir(restored),
            '--port',
            String(port.rpg),
            '--passphrase-file',
            backupPass,
            '--with',
            hook,
          ],
          { env: pg.env },
        );
        expect(res.exitCode, res.stderr).toBe(0);
        expect(pg.sql('SELECT digest FROM records ORDER BY id')).toBe('sha256:aa\nsha256:bb\nsha256:cc');
      } finally {
        pg.stop();
      }
    });

    it('the scheduled backup: the timer runs backup.sh into a dated directory, and --keep N keeps the N newest', async () => {
      const r = needRig();
      const service = readFileSync(path.join(dataDir(V2), `config/rekor-airgap-backup-${V2}.service`), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(service)![1]!;
      expect(exec).toBe(`${dataDir(V2)}/scripts/backup.sh --out-dir /var/backups/rekor-airgap/${V2} --keep 14`);
      expect(readFileSync(path.join(dataDir(V2), `config/rekor-airgap-backup-${V2}.timer`), 'utf8')).toContain(
        'OnCalendar=',
      );
      expect(readFileSync(path.join(dataDir(V2), `config/rekor-airgap-backup-${V2}.cron`), 'utf8')).toContain(
        `root ${exec} >>`,
      );
      const outDir = path.join(dir, 'scheduled');
      const env = {
        REKOR_AIRGAP_BACKUP_PASSPHRASE: readFileSync(backupPass, 'utf8').trim(),
        DOCKER_HOST: r.offlineDockerHost,
        PATH: process.env.PATH!,
      };
      const runs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const b = spawnSync(
          'nsenter',
          [
            `--net=/var/run/netns/${r.offlineNetns}`,
            'sh',
            '-c',
            exec.replace(`/var/backups/rekor-airgap/${V2}`, outDir).replace('--keep 14', '--keep 2'),
          ],
          { encoding: 'utf8', env },
        );
        expect(b.status, b.stderr).toBe(0);
        runs.push(...readdirSync(outDir));
        if (i < 2) await new Promise((res) => setTimeout(res, 1100));
      }
      const left = readdirSync(outDir).sort();
      expect(left).toHaveLength(2);
      expect(left.every((f) => new RegExp(`^${V2}-\\d{8}T\\d{6}Z\\.tar$`).test(f))).toBe(true);
      expect([...new Set(runs)].sort().slice(-2)).toEqual(left);
    });
  });

  describe('the smoke test fails, each way with its own exit code', () => {
    const smokeArgs = (port: number, extra: string[] = []) => [
      'smoke',
      '--url',
      `https://${V2}.rekor.test:${port}`,
      '--connect-to',
      '127.0.0.1',
      '--ca',
      path.join(dataDir(V2), 'tls/ca.crt'),
      '--log-key',
      path.join(dataDir(V2), 'log-public.pem'),
      '--origin',
      `${V2}.rekor.test`,
      ...extra,
    ];

    it('passes against the real log with explicit parameters', async () => {
      const res = await runOffline(needRig(), smokeArgs(port.v2));
      expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    });

    it('a wrong log key: 13', async () => {
      const other = path.join(dir, 'other-log.pub');
      writeFileSync(
        other,
        execFileSync('openssl', ['pkey', '-pubout'], {
          input: execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519']),
        }),
      );
      const res = await runOffline(needRig(), [
        ...smokeArgs(port.v2).slice(0, -6),
        '--log-key',
        other,
        '--origin',
        `${V2}.rekor.test`,
        '--ca',
        path.join(dataDir(V2), 'tls/ca.crt'),
      ]);
      expect(res.exitCode, res.stdout).toBe(13);
    });

    it('a wrong origin: 13', async () => {
      const res = await runOffline(needRig(), [
        ...smokeArgs(port.v2).slice(0, -2),
        '--origin',
        'someone-else.rekor.test',
      ]);
      expect(res.exitCode, res.stdout).toBe(13);
      expect(res.stderr).toContain('NOTE_ORIGIN_MISMATCH');
    });

    it('a TLS certificate the given CA did not issue: 10', async () => {
      const res = await runOffline(needRig(), [...smokeArgs(port.v2), '--ca', needRig().tlsRegistryCa]);
      expect(res.exitCode, res.stdout).toBe(10);
      expect(res.stderr).toContain('SMOKE_TLS');
    });

    describe('through a man in the middle holding a certificate from the same CA', () => {
      let proxyCert: string;
      let proxyKey: string;
      beforeAll(() => {
        proxyKey = path.join(dir, 'mitm.key');
        proxyCert = path.join(dir, 'mitm.crt');
        const csr = path.join(dir, 'mitm.csr');
        execFileSync(
          'openssl',
          [
            'req',
            '-new',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-subj',
            `/CN=${V2}.rekor.test`,
            '-keyout',
            proxyKey,
            '-out',
            csr,
          ],
          { stdio: 'pipe' },
        );
        const ext = path.join(dir, 'mitm.ext');
        writeFileSync(ext, `subjectAltName=DNS:${V2}.rekor.test\n`);
        execFileSync(
          'openssl',
          [
            'x509',
            '-req',
            '-in',
            csr,
            '-CA',
            path.join(dataDir(V2), 'tls/ca.crt'),
            '-CAkey',
            path.join(dataDir(V2), 'secrets/ca.key'),
            '-CAcreateserial',
            '-days',
            '1',
            '-extfile',
            ext,
            '-out',
            proxyCert,
          ],
          { stdio: 'pipe' },
        );
      });
      const viaProxy = async (mode: string, listen: number) => {
        const proxy = spawn(
          '/usr/bin/nsenter',
          [
            `--net=/var/run/netns/${needRig().offlineNetns}`,
            process.execPath,
            path.join(ROOT, 'test/helpers/tamper-proxy.mjs'),
            String(listen),
            String(port.v2),
            proxyCert,
            proxyKey,
            path.join(dataDir(V2), 'tls/ca.crt'),
            mode,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        await new Promise<void>((resolve) => proxy.stdout.once('data', () => resolve()));
        try {
          return await runOffline(needRig(), smokeArgs(listen));
        } finally {
          proxy.kill();
        }
      };

      it('an untouched relay passes (the proxy itself is sound)', async () => {
        const res = await viaProxy('none', port.p1);
        expect(res.exitCode, res.stdout + res.stderr).toBe(0);
      });

      it('a tampered inclusion proof: 12', async () => {
        const res = await viaProxy('proof', port.p2);
        expect(res.exitCode, res.stdout).toBe(12);
        expect(res.stderr).toContain('MERKLE_INCLUSION_INVALID');
      });

      it('a tampered checkpoint signature: 13', async () => {
        const res = await viaProxy('checkpoint-signature', port.p3);
        expect(res.exitCode, res.stdout).toBe(13);
        expect(res.stderr).toContain('NOTE_SIGNATURE_INVALID');
      });

      it('an entry the log rejects (its signature altered on the way): 11', async () => {
        const res = await viaProxy('request', port.p4);
        expect(res.exitCode, res.stdout).toBe(11);
        expect(res.stderr).toContain('SMOKE_REJECTED');
      });
    });
  });

  describe('bad inputs end with a clear message and nothing left running from that attempt', () => {
    const noContainers = (instance: string) =>
      expect(projectContainerNames(needRig(), `rekor-airgap-${instance}`)).toEqual([]);

    it('a bundle signed by an untrusted key is refused before anything is loaded', async () => {
      const other = await makeSigningKey(dir, 'stranger');
      const res = await runOffline(needRig(), [
        'bundle',
        'install',
        bundle,
        '--trust',
        other.pub,
        '--instance',
        `${RUN}-x1`,
        '--data-dir',
        dataDir(`${RUN}-x1`),
      ]);
      expect(res.exitCode).toBe(3);
      expect(res.stderr).toContain('SIGNATURE_INVALID');
      noContainers(`${RUN}-x1`);
    });

    it('a busy port is named', async () => {
      const res = await install(`${RUN}-x2`, ['--profile', 'rekor-v2', '--port', String(port.v2)]);
      expect(res.exitCode).toBe(7);
      expect(res.stderr).toContain(`port ${port.v2}`);
      noContainers(`${RUN}-x2`);
    });

    it('--skip-check overrides one named check, and only that one', async () => {
      const res = await install(`${RUN}-x7`, [
        '--profile',
        'rekor-v2',
        '--port',
        String(port.v2),
        '--skip-check',
        'ports',
        '--dry-run',
      ]);
      expect(res.exitCode, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout) as { preflight: Array<{ name: string; status: string }> };
      expect(out.preflight.find((c) => c.name === 'ports')?.status).toBe('skipped');
      expect(out.preflight.filter((c) => c.status === 'ok').length).toBe(5);
      noContainers(`${RUN}-x7`);
    });

    it('missing compose is named', async () => {
      const bin = path.join(dir, 'bin-without-compose');
      mkdirSync(bin, { recursive: true });
      try {
        symlinkSync(process.execPath, path.join(bin, 'node'));
      } catch {
        /* exists */
      }
      const res = await runOffline(
        needRig(),
        [
          'bundle',
          'install',
          bundle,
          '--trust',
          key.pub,
          '--profile',
          'rekor-v2',
          '--instance',
          `${RUN}-x3`,
          '--data-dir',
          dataDir(`${RUN}-x3`),
          '--port',
          String(port.compose),
        ],
        { env: { PATH: bin } },
      );
      expect(res.exitCode).toBe(7);
      expect(res.stderr).toContain('PREFLIGHT_COMPOSE');
      noContainers(`${RUN}-x3`);
    });

    it('an engine that is down is named (exit 6), on a free port', async () => {
      const res = await runOffline(
        needRig(),
        [
          'bundle',
          'install',
          bundle,
          '--trust',
          key.pub,
          '--profile',
          'rekor-v2',
          '--instance',
          `${RUN}-x4`,
          '--data-dir',
          dataDir(`${RUN}-x4`),
          '--port',
          String(port.engine),
        ],
        { env: { DOCKER_HOST: `unix://${dir}/no-engine.sock` } },
      );
      expect(res.exitCode, res.stderr).toBe(6);
      expect(res.stderr).toContain('ENGINE_UNREACHABLE');
      expect(res.stderr).toContain('no-engine.sock');
    });

    it('an engine that is down is still what the exit code says when the port is busy too (6, not 7)', async () => {
      const res = await runOffline(
        needRig(),
        [
          'bundle',
          'install',
          bundle,
          '--trust',
          key.pub,
          '--profile',
          'rekor-v2',
          '--instance',
          `${RUN}-x4`,
          '--data-dir',
          dataDir(`${RUN}-x4`),
          '--port',
          String(port.v2),
        ],
        { env: { DOCKER_HOST: `unix://${dir}/no-engine.sock` } },
      );
      expect(res.exitCode, res.stderr).toBe(6);
      expect(res.stderr).toMatch(/error \[ENGINE_UNREACHABLE\]/);
      expect(res.stderr).toContain(`port ${port.v2}`);
    });

    it('a template swapped after verification (time of check, time of use) is refused, and nothing runs it', async () => {
      const r = needRig();
      const copy = path.join(dir, 'toctou-bundle');
      cpSync(bundle, copy, { recursive: true });
      const compose = path.join(copy, 'templates/rekor-v2/compose.yaml');
      const evil = readFileSync(compose, 'utf8').replace(
        'pull_policy: never',
        'pull_policy: never\n    privileged: true',
      );
      const instance = `${RUN}-x8`;
      installed.push(instance);
      // Whoever can write to the bundle directory waits for "bundle verified" and swaps the template.
      const child = spawn(
        '/usr/bin/nsenter',
        [
          `--net=/var/run/netns/${r.offlineNetns}`,
          process.execPath,
          path.join(ROOT, 'dist/bin/cli.mjs'),
          'bundle',
          'install',
          copy,
          '--trust',
          key.pub,
          '--profile',
          'rekor-v2',
          '--instance',
          instance,
          '--data-dir',
          dataDir(instance),
          '--hostname',
          `${instance}.rekor.test`,
          '--port',
          String(port.toctou),
          '--timeout',
          '120',
        ],
        { env: { ...process.env, DOCKER_HOST: r.offlineDockerHost }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let swapped = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!swapped && stderr.includes('bundle verified')) {
          writeFileSync(compose, evil);
          swapped = true;
        }
      });
      const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
      expect(swapped, stderr).toBe(true);
      expect(code, stderr).toBe(3);
      expect(stderr).toContain('templates/rekor-v2/compose.yaml changed after verification');
      noContainers(instance);
      expect(
        existsSync(path.join(dataDir(instance), 'config/compose.yaml'))
          ? readFileSync(path.join(dataDir(instance), 'config/compose.yaml'), 'utf8')
          : '',
      ).not.toContain('privileged');
    });

    it('a corrupt image blob is named, and nothing is loaded or started', async () => {
      const copy = path.join(dir, 'corrupt-bundle');
      cpSync(bundle, copy, { recursive: true });
      const blobs = path.join(copy, 'images/blobs/sha256');
      const big = readdirSync(blobs)
        .map((f) => ({ f, size: readFileSync(path.join(blobs, f)).length }))
        .sort((a, b) => b.size - a.size)[0]!;
      const bytes = readFileSync(path.join(blobs, big.f));
      bytes[1000] = bytes[1000]! ^ 0xff;
      writeFileSync(path.join(blobs, big.f), bytes);
      const res = await install(`${RUN}-x5`, ['--profile', 'rekor-v2', '--port', String(port.corrupt)], copy);
      expect(res.exitCode).toBe(3);
      expect(res.stderr).toContain(`images/blobs/sha256/${big.f}: sha256 mismatch`);
      noContainers(`${RUN}-x5`);
    });

    it('a service that fails to start shows its logs and is removed', async () => {
      // nginx cannot start when a witness of the log's policy does not resolve (it resolves its
      // upstreams at start): the error names nginx and carries its own log lines.
      const policy = path.join(dir, 'unresolvable-witness.txt');
      const { publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(
        policy,
        `witness far ${cosignatureVkey('far.example', publicKey)} https://witness.invalid:3453\nquorum far\n`,
      );
      const res = await install(`${RUN}-x6`, [
        '--profile',
        'rekor-v2',
        '--port',
        String(port.failing),
        '--witness-policy',
        policy,
        '--witness-ca',
        path.join(dataDir(V2), 'tls/ca.crt'),
        '--timeout',
        '60',
      ]);
      expect(res.exitCode).toBe(8);
      const error = res.stderr.slice(res.stderr.indexOf('error ['));
      expect(error).toMatch(
        /^error \[INSTALL_(SERVICE_FAILED|TIMEOUT)\]: (service nginx stopped|services not healthy[\s\S]*last log lines of nginx:)/,
      );
      expect(error).toMatch(/witness\.invalid/);
      noContainers(`${RUN}-x6`);
    });
  });
});
