/**
 * A second kind of air-gapped host: its engine is Podman 4.3 (Debian's), through the Docker-
 * compatible socket of `podman system service`, in a network namespace with no route out. The
 * same verified bundle installs both stacks there, passes the smoke test, and is backed up.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, runCli } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { runOnPodman } from '../helpers/offline.js';
import { needRig, rigSources, rig } from '../helpers/rig.js';

interface Handover {
  mode: string;
  url: string;
  smoke: { ok: boolean; checks: Array<{ name: string; ok: boolean }> } | null;
}

const RUN = `p${Date.now().toString(36).slice(-5)}`;

/** A port nobody listens on in the Podman namespace. */
function freePort(netns: string): number {
  const out = execFileSync(
    'nsenter',
    [
      `--net=/var/run/netns/${netns}`,
      process.execPath,
      '-e',
      "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})",
    ],
    { encoding: 'utf8' },
  );
  return Number(out.trim());
}

describe.skipIf(!rig)('install on a Podman host with no route out', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  const installed: string[] = [];
  const dataDir = (i: string) => path.join(dir, 'data', i);
  const install = (instance: string, profile: string, port: number) => {
    installed.push(instance);
    return runOnPodman(needRig(), [
      'bundle',
      'install',
      bundle,
      '--trust',
      key.pub,
      '--profile',
      profile,
      '--instance',
      instance,
      '--data-dir',
      dataDir(instance),
      '--hostname',
      `${instance}.rekor.test`,
      '--port',
      String(port),
      '--json',
      '--timeout',
      '240',
    ]);
  };

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('podman-test-');
    key = await makeSigningKey(dir);
    bundle = path.join(dir, 'bundle');
    const c = await runCli([
      'bundle',
      'create',
      '--quiet',
      '--profile',
      'rekor-v2',
      '--profile',
      'rekor-v1',
      '--out',
      bundle,
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      ...rigSources(r),
    ]);
    expect(c.exitCode, c.stderr).toBe(0);
    // Start from an engine without the bundle's images (a rerun of this suite finds them loaded).
    const refs = (
      JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')) as { images: Array<{ ref: string }> }
    ).images.map((x) => x.ref);
    for (const ref of refs)
      spawnSync('docker', ['-H', r.podmanDockerHost, 'image', 'rm', '-f', ref], { stdio: 'ignore' });
  }, 300_000);

  afterAll(async () => {
    if (!rig) return;
    for (const i of installed)
      await runOnPodman(rig, ['bundle', 'uninstall', '--instance', i, '--data-dir', dataDir(i), '--purge', '--quiet']);
  }, 300_000);

  it('the Podman host has no route out', () => {
    const r = needRig();
    const routes = execFileSync(
      'nsenter',
      [`--net=/var/run/netns/${r.podmanNetns}`, 'ip', '-4', 'route', 'show', 'default'],
      { encoding: 'utf8' },
    );
    expect(routes.trim()).toBe('');
    const out = execFileSync(
      'curl',
      ['-s', '--unix-socket', r.podmanDockerHost.replace(/^unix:\/\//, ''), 'http://d/version'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out).Components[0].Name).toBe('Podman Engine');
  });

  it('Rekor v2: preflight names Podman; images load without a registry; healthy; the smoke test passes', async () => {
    const r = needRig();
    const res = await install(`${RUN}-v2`, 'rekor-v2', freePort(r.podmanNetns));
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/preflight engine: ok — Podman 4\.\d+\.\d+, API 1\.\d+/);
    expect(res.stderr).toMatch(/loading 3 image\(s\) into the engine \(no registry\)/);
    const images = execFileSync(
      'docker',
      ['-H', r.podmanDockerHost, 'images', '--format', '{{.Repository}}:{{.Tag}}'],
      { encoding: 'utf8' },
    );
    expect(images).toContain('ghcr.io/sigstore/rekor-tiles/posix:');
    const h = json<Handover>(res);
    expect(h.smoke?.ok).toBe(true);
    expect(h.smoke?.checks.every((c) => c.ok)).toBe(true);
    const again = await runOnPodman(r, [
      'smoke',
      '--instance',
      `${RUN}-v2`,
      '--data-dir',
      dataDir(`${RUN}-v2`),
      '--json',
    ]);
    expect(again.exitCode, again.stderr).toBe(0);
  });

  it('Rekor v1 (Trillian + MariaDB): the tree is made once, the smoke test passes, and a backup reads the paused head and the dump', async () => {
    const r = needRig();
    const i = `${RUN}-v1`;
    const res = await install(i, 'rekor-v1', freePort(r.podmanNetns));
    expect(res.exitCode, res.stderr).toBe(0);
    const h = json<Handover & { treeId?: string }>(res);
    expect(h.smoke?.ok).toBe(true);
    // MariaDB, Trillian and rekor-server have fixed addresses, named in /etc/hosts: Podman's DNS
    // stops answering for a while when a container starts or stops on the host.
    const state = JSON.parse(readFileSync(path.join(dataDir(i), 'state.json'), 'utf8')) as {
      project: string;
      internalSubnet: string;
    };
    const net = JSON.parse(
      execFileSync('docker', ['-H', r.podmanDockerHost, 'network', 'inspect', `${state.project}_backend`], {
        encoding: 'utf8',
      }),
    ) as Array<{ IPAM: { Config: Array<{ Subnet: string }> } }>;
    expect(net[0]!.IPAM.Config.map((c) => c.Subnet)).toEqual([state.internalSubnet]);
    const hosts = execFileSync(
      'docker',
      ['-H', r.podmanDockerHost, 'exec', `${state.project}_nginx_1`, 'cat', '/etc/hosts'],
      { encoding: 'utf8' },
    );
    for (const name of ['mariadb', 'trillian-log-server', 'rekor']) {
      const ip = new RegExp(`^(\\S+)\\s+${name}$`, 'm').exec(hosts)?.[1];
      expect(ip, `${name} in nginx's /etc/hosts:\n${hosts}`).toBeDefined();
      expect(ip!.startsWith(state.internalSubnet.split('.').slice(0, 3).join('.'))).toBe(true);
    }
    // A container started and removed on the instance network (as a backup's are), then writes.
    const mariadbImage = execFileSync(
      'docker',
      ['-H', r.podmanDockerHost, 'inspect', '--format', '{{.Config.Image}}', `${state.project}_mariadb_1`],
      { encoding: 'utf8' },
    ).trim();
    execFileSync('docker', [
      '-H',
      r.podmanDockerHost,
      'run',
      '--rm',
      '--network',
      `${state.project}_backend`,
      '--entrypoint',
      'true',
      mariadbImage,
    ]);
    const afterChurn = await runOnPodman(r, ['smoke', '--instance', i, '--data-dir', dataDir(i), '--json']);
    expect(afterChurn.exitCode, afterChurn.stderr).toBe(0);
    const pass = path.join(dir, 'backup-pass');
    execFileSync('sh', ['-c', `printf 'a long backup passphrase\\n' > ${pass} && chmod 600 ${pass}`]);
    const b = await runOnPodman(r, [
      'backup',
      '--instance',
      i,
      '--data-dir',
      dataDir(i),
      '--out',
      path.join(dir, 'v1.tar'),
      '--passphrase-file',
      pass,
      '--json',
    ]);
    expect(b.exitCode, b.stderr).toBe(0);
    const listing = execFileSync('tar', ['-tf', path.join(dir, 'v1.tar')], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('dump/trillian.sql');
    const sql = execFileSync('tar', ['-xOf', path.join(dir, 'v1.tar'), 'dump/trillian.sql'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(sql).toMatch(/INSERT INTO `Trees`/);
  });
});
