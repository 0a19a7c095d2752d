/**
 * The monitor against a real rekor-v2 instance on the air-gapped engine: quiet on a healthy log
 * (also through the monitor.sh the install wrote), an alert when an entry signed by a watched key
 * is added, and a rollback alert when the log's tiles are replaced by an older copy — each by exit
 * code, the alert command's standard input and the Prometheus text file.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, inOffline, offlineDocker, runOffline } from '../helpers/offline.js';
import { createRigBundle } from '../helpers/rig-bundle.js';
import { needRig, rig } from '../helpers/rig.js';

const RUN = `m${Date.now().toString(36).slice(-5)}`;

interface Run {
  ok: boolean;
  size: number;
  alerts: Array<{ kind: string; index?: number; size?: number; instance?: string; origin: string; code?: string }>;
}

describe.skipIf(!rig)('monitor on an installed rekor-v2 instance', () => {
  let dir: string;
  let key: SigningKey;
  let data: string;
  let handover: { url: string; caCert: string; project: string; origin: string };
  const instance = `${RUN}-v2`;
  const events = () => path.join(dir, 'events.jsonl');
  const textfile = () => path.join(dir, 'monitor.prom');
  const monitor = (extra: string[] = []) =>
    runOffline(needRig(), [
      'monitor',
      '--once',
      '--instance',
      instance,
      '--data-dir',
      data,
      '--textfile',
      textfile(),
      '--alert-command',
      `cat >> '${events()}'`,
      '--json',
      ...extra,
    ]);
  const readEvents = () =>
    existsSync(events())
      ? readFileSync(events(), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Run['alerts'][number])
      : [];
  const rekorContainer = () =>
    offlineDocker(
      needRig(),
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${handover.project}`,
      '--filter',
      'label=com.docker.compose.service=rekor',
      '--format',
      '{{.Names}}',
    ).trim();

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('monitor-test-');
    key = await makeSigningKey(dir);
    const made = await createRigBundle(r, dir, key);
    const bundle = made.bundle;
    const c = made.result;
    expect(c.exitCode, c.stderr).toBe(0);
    data = path.join(dir, 'data', instance);
    const i = await runOffline(r, [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--instance',
      instance,
      '--data-dir',
      data,
      '--hostname',
      'localhost',
      '--port',
      String(freeOfflinePort(r)),
      '--json',
      '--timeout',
      '180',
    ]);
    expect(i.exitCode, i.stderr).toBe(0);
    handover = json<typeof handover>(i);
  }, 1_200_000);

  afterAll(async () => {
    if (!rig || !data) return;
    await runOffline(rig, ['bundle', 'uninstall', '--instance', instance, '--data-dir', data, '--purge', '--quiet']);
  });

  it('is silent on a healthy log, run directly and by the monitor.sh the install wrote for its timer', async () => {
    const r = await monitor();
    expect(r.exitCode, r.stderr).toBe(0);
    const run = json<Run>(r);
    expect(run.ok).toBe(true);
    expect(run.alerts).toEqual([]);
    expect(run.size).toBeGreaterThan(0);
    for (const f of [
      'rekor-airgap-monitor-%s.service',
      'rekor-airgap-monitor-%s.timer',
      'rekor-airgap-monitor-%s.cron',
    ])
      expect(existsSync(path.join(data, 'config', f.replace('%s', instance)))).toBe(true);
    const service = readFileSync(path.join(data, 'config', `rekor-airgap-monitor-${instance}.service`), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(service)![1]!.split(' ');
    // The scheduled command as systemd would run it (inside the air-gapped namespace).
    const out = inOffline(needRig(), exec[0]!, [...exec.slice(1).filter((a) => a !== '--quiet'), '--json']);
    expect(JSON.parse(out)).toMatchObject({ ok: true, alerts: [] });
    expect(readFileSync(path.join(data, 'monitor', 'rekor-airgap-monitor.prom'), 'utf8')).toMatch(
      /^rekor_airgap_monitor_up\{log=".*"\} 1$/m,
    );
    expect(readFileSync(textfile(), 'utf8')).toContain(`rekor_airgap_monitor_alerts{log="${instance}",kind="fork"} 0`);
    expect(readEvents()).toEqual([]);
  });

  it('alerts on an entry signed by a watched key: exit 18, the alert command, the text file', async () => {
    const watched = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = path.join(dir, 'watched.pub');
    writeFileSync(pub, watched.publicKey.export({ type: 'spki', format: 'pem' }));
    const artifact = Buffer.from(`release ${RUN}`);
    const request = {
      hashedRekordRequestV002: {
        digest: createHash('sha256').update(artifact).digest('base64'),
        signature: {
          content: sign('sha256', artifact, watched.privateKey).toString('base64'),
          verifier: {
            publicKey: { rawBytes: watched.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          },
        },
      },
    };
    const reqFile = path.join(dir, 'entry.json');
    writeFileSync(reqFile, JSON.stringify(request));
    const answer = JSON.parse(
      inOffline(needRig(), 'curl', [
        '-sS',
        '--fail',
        '--cacert',
        handover.caCert,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        `@${reqFile}`,
        `${handover.url}/api/v2/log/entries`,
      ]),
    ) as { logIndex: string };
    const index = Number(answer.logIndex);
    const r = await monitor(['--watch-key', pub]);
    expect(r.exitCode, r.stderr).toBe(18);
    expect(r.stderr).toContain('error [MONITOR_ALERT]');
    const run = json<Run>(r);
    expect(run.alerts.map((a) => [a.kind, a.index])).toEqual([['watched-key', index]]);
    expect(readEvents()).toEqual([expect.objectContaining({ kind: 'watched-key', index, instance })]);
    expect(readFileSync(textfile(), 'utf8')).toContain(
      `rekor_airgap_monitor_alerts{log="${instance}",kind="watched-key"} 1`,
    );
    // Scanned once: the next run is quiet again.
    expect((await monitor(['--watch-key', pub])).exitCode).toBe(0);
  });

  it('alerts on a rollback when the tiles are replaced by an older copy', async () => {
    const r = needRig();
    const logDir = path.join(data, 'log');
    const aside = path.join(dir, 'log-aside');
    const rekor = rekorContainer();
    expect(rekor).toMatch(/\S/);
    offlineDocker(r, 'stop', rekor);
    execFileSync('cp', ['-a', logDir, aside]);
    offlineDocker(r, 'start', rekor);
    const before = json<Run>(await monitor());
    // More entries: the log grows past the copy, and the monitor sees it grow.
    const smoke = await runOffline(r, ['smoke', '--instance', instance, '--data-dir', data, '--quiet']);
    expect(smoke.exitCode, smoke.stderr).toBe(0);
    const grown = await monitor();
    expect(grown.exitCode, grown.stderr).toBe(0);
    expect(json<Run>(grown).size).toBeGreaterThan(before.size);
    rmSync(path.join(dir, 'events.jsonl'), { force: true });
    // The old copy back in place of the log.
    offlineDocker(r, 'stop', rekor);
    // In place: the containers bind-mount this directory, not whatever later takes its name.
    for (const name of readdirSync(logDir)) rmSync(path.join(logDir, name), { recursive: true, force: true });
    execFileSync('cp', ['-a', `${aside}/.`, `${logDir}/`]);
    offlineDocker(r, 'start', rekor);
    const rolled = await monitor();
    expect(rolled.exitCode, rolled.stderr).toBe(18);
    const run = json<Run>(rolled);
    expect(run.alerts.map((a) => a.kind)).toEqual(['rollback']);
    expect(run.alerts[0]).toMatchObject({ size: before.size, code: 'LOG_FORK', origin: handover.origin });
    expect(readEvents()).toEqual([expect.objectContaining({ kind: 'rollback', instance })]);
    expect(readFileSync(textfile(), 'utf8')).toContain(
      `rekor_airgap_monitor_alerts{log="${instance}",kind="rollback"} 1`,
    );
    // Still rolled back: the exit code says it again, the command is not run again.
    expect((await monitor()).exitCode).toBe(18);
    expect(readEvents()).toHaveLength(1);
  });
});
