/**
 * A Rekor v2 log with two witnesses installed from the same bundle on the air-gapped engine, and a
 * quorum of two. rekor-tiles posts each checkpoint to both (through its nginx, the only way out)
 * and publishes what they cosign; the smoke test, doctor and status check the quorum. With one
 * witness stopped, rekor-tiles goes on publishing (upstream's fail-open), and this tool's readers
 * refuse the log with exit code 17, naming the witness that is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { freeOfflinePort, inOffline, runOffline } from '../helpers/offline.js';
import { createRigBundle } from '../helpers/rig-bundle.js';
import { needRig, rig } from '../helpers/rig.js';
import { parseWitnessPolicy } from '../../src/witness/policy.js';
import { evaluateQuorum } from '../../src/witness/quorum.js';

const RUN = `w${Date.now().toString(36).slice(-5)}`;

interface Installed {
  url: string;
  smoke: { checks: Array<{ name: string; ok: boolean; detail?: string }>; record: { payload: { checkpoint: string } } };
}

describe.skipIf(!rig)('witnesses: a log with a quorum of two', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  let trust: string;
  const instances: Array<{ name: string; data: string }> = [];
  const log = { name: `${RUN}-log`, data: '', url: '' };
  const witnesses = [
    { name: `${RUN}-wa`, data: '', host: `${RUN}-wa.witness.internal`, port: 0 },
    { name: `${RUN}-wb`, data: '', host: `${RUN}-wb.witness.internal`, port: 0 },
  ];

  /** The containers of an instance's compose project on the air-gapped engine. */
  const engine = (args: string[]) =>
    execFileSync('docker', args, {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: needRig().offlineDockerHost },
    });
  const projectContainers = (instance: string) =>
    engine(['ps', '-aq', '--filter', `label=com.docker.compose.project=rekor-airgap-${instance}`])
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('witnesses-test-');
    key = await makeSigningKey(dir);
    const made = await createRigBundle(r, dir, key);
    bundle = made.bundle;
    const c = made.result;
    expect(c.exitCode, c.stderr).toBe(0);
    for (const w of witnesses) {
      w.data = path.join(dir, 'data', w.name);
      w.port = freeOfflinePort(r);
      instances.push(w);
      const i = await runOffline(r, [
        'bundle',
        'install',
        bundle,
        '--trust',
        key.pub,
        '--profile',
        'witness',
        '--instance',
        w.name,
        '--data-dir',
        w.data,
        '--hostname',
        w.host,
        '--port',
        String(w.port),
        '--json',
        '--timeout',
        '180',
      ]);
      expect(i.exitCode, i.stderr).toBe(0);
    }
    log.data = path.join(dir, 'data', log.name);
    instances.push(log);
  });

  afterAll(async () => {
    if (!rig) return;
    for (const i of instances.reverse())
      await runOffline(rig, ['bundle', 'uninstall', '--instance', i.name, '--data-dir', i.data, '--purge', '--quiet']);
  });

  it('installs a log that needs both witnesses: its smoke record carries both cosignatures', async () => {
    const r = needRig();
    const i = await runOffline(r, [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--instance',
      log.name,
      '--data-dir',
      log.data,
      '--hostname',
      'localhost',
      '--port',
      String(freeOfflinePort(r)),
      // Witnesses in directories of their own are named by their directory.
      ...witnesses.flatMap((w) => ['--witness-instance', w.data]),
      '--witness-quorum',
      '2',
      '--json',
      '--timeout',
      '180',
    ]);
    expect(i.exitCode, i.stderr).toBe(0);
    const installed = json<Installed>(i);
    log.url = installed.url;
    const quorumChecks = installed.smoke.checks.filter((c) => c.name.includes('witness quorum'));
    expect(quorumChecks.length).toBeGreaterThanOrEqual(3);
    expect(quorumChecks.every((c) => c.ok)).toBe(true);
    // The record a client keeps (its checkpoint): the log's signature and one cosignature per witness.
    const note = installed.smoke.record.payload.checkpoint;
    const policy = parseWitnessPolicy(readFileSync(path.join(log.data, 'config', 'witness-policy.txt'), 'utf8'), 'p');
    const verdict = evaluateQuorum(note, policy);
    expect(verdict.satisfied).toBe(true);
    expect(verdict.cosigned.map((c) => c.name).sort()).toEqual(witnesses.map((w) => w.name).sort());
    // Each cosignature is recent: the witnesses saw this checkpoint as it was published.
    for (const c of verdict.cosigned) expect(Math.abs(Date.now() / 1000 - c.timestamp)).toBeLessThan(600);

    const t = await runOffline(r, [
      'trust',
      'export',
      '--instance',
      log.name,
      '--data-dir',
      log.data,
      '--out',
      path.join(dir, 'trust'),
      '--json',
    ]);
    expect(t.exitCode, t.stderr).toBe(0);
    trust = path.join(dir, 'trust');
    expect(parseWitnessPolicy(readFileSync(path.join(trust, 'witness-policy.txt'), 'utf8'), 't').quorum).toBe(
      policy.quorum,
    );
  });

  it('doctor, from a client with the exported trust files, checks the quorum', async () => {
    const r = needRig();
    const d = await runOffline(r, ['doctor', '--url', log.url, '--trust-dir', trust, '--json']);
    expect(d.exitCode, d.stdout + d.stderr).toBe(0);
    const checks = JSON.parse(d.stdout).checks as Array<{ name: string; ok: boolean; detail: string }>;
    const quorum = checks.find((c) => c.name.includes('witness quorum'));
    expect(quorum?.ok, JSON.stringify(checks)).toBe(true);
    for (const w of witnesses) expect(quorum?.detail).toContain(w.name);
  });

  /** One monitor run with a short staleness limit; the alert command writes its event to a file. */
  async function monitorOnce(tag: string) {
    const events = path.join(dir, `events-${tag}.jsonl`);
    const textfile = path.join(dir, `monitor-${tag}.prom`);
    const m = await runOffline(needRig(), [
      'monitor',
      '--instance',
      log.name,
      '--data-dir',
      log.data,
      '--once',
      '--stale-after',
      '20s',
      '--alert-command',
      `cat >> ${events}`,
      '--textfile',
      textfile,
      '--json',
    ]);
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    return { ...m, events: read(events), textfile: read(textfile) };
  }

  it('the monitor is silent on the witnessed log while both witnesses cosign', async () => {
    const m = await monitorOnce('healthy');
    expect(m.exitCode, m.stdout + m.stderr).toBe(0);
    expect(m.events).toBe('');
    expect(m.textfile).toMatch(
      new RegExp(`witness_cosignature_age_seconds\\{log="[^"]*",witness="${witnesses[1]!.name}"\\} \\d+`),
    );
  });

  async function status() {
    return runOffline(needRig(), ['status', '--instance', log.name, '--data-dir', log.data, '--json']);
  }

  it('with one witness stopped, rekor-tiles still publishes, and smoke, doctor and status fail with exit 17 naming it', async () => {
    const r = needRig();
    const stopped = witnesses[1]!;
    engine(['stop', ...projectContainers(stopped.name)]);
    try {
      // Wait for a checkpoint published without the stopped witness (the next entry makes one).
      const s = await runOffline(r, ['smoke', '--instance', log.name, '--data-dir', log.data, '--json']);
      expect(s.exitCode, s.stdout + s.stderr).toBe(17);
      expect(s.stdout + s.stderr).toContain(stopped.name);
      expect(s.stdout + s.stderr).toContain('WITNESS_QUORUM_NOT_MET');
      // Fail-open upstream: the log itself answered the entries and serves a checkpoint...
      const cp = inOffline(r, 'curl', [
        '-fsS',
        '--cacert',
        path.join(log.data, 'tls', 'ca.crt'),
        `${log.url}/checkpoint`,
      ]);
      const policy = parseWitnessPolicy(readFileSync(path.join(trust, 'witness-policy.txt'), 'utf8'), 't');
      const verdict = evaluateQuorum(cp, policy);
      // ...which lacks the stopped witness's cosignature: caught here, not by the log.
      expect(verdict.satisfied).toBe(false);
      expect(verdict.missing).toContain(stopped.name);

      const d = await runOffline(r, ['doctor', '--url', log.url, '--trust-dir', trust]);
      expect(d.exitCode, d.stdout + d.stderr).toBe(17);
      expect(d.stdout + d.stderr).toContain(stopped.name);

      const st = await status();
      expect(st.exitCode, st.stdout + st.stderr).toBe(17);
      expect(st.stderr).toMatch(new RegExp(`${stopped.name}.*last cosigned`));

      // Past the staleness limit, the monitor alerts: exit 18, the event to the alert command,
      // and the count in the text file, naming the witness that is gone.
      await new Promise((res) => setTimeout(res, 21_000));
      await runOffline(r, ['smoke', '--instance', log.name, '--data-dir', log.data, '--json']);
      const m = await monitorOnce('witness-gone');
      expect(m.exitCode, m.stdout + m.stderr).toBe(18);
      const events = m.events
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; witness?: string });
      expect(events).toContainEqual(expect.objectContaining({ kind: 'witness-stale', witness: stopped.name }));
      expect(events).toContainEqual(expect.objectContaining({ kind: 'quorum-lost' }));
      expect(m.textfile).toMatch(/alerts\{log="[^"]*",kind="witness-stale"\} 1/);
    } finally {
      engine(['start', ...projectContainers(stopped.name)]);
    }
  });

  it('once the witness is back, the next checkpoints meet the quorum again', async () => {
    const r = needRig();
    let s = await runOffline(r, ['smoke', '--instance', log.name, '--data-dir', log.data, '--json']);
    for (let i = 0; i < 10 && s.exitCode !== 0; i++) {
      await new Promise((res) => setTimeout(res, 3000));
      s = await runOffline(r, ['smoke', '--instance', log.name, '--data-dir', log.data, '--json']);
    }
    expect(s.exitCode, s.stdout + s.stderr).toBe(0);
  });
});
