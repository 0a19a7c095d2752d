/**
 * Self-tests of the rig: each starts the real component and checks what a later test relies on.
 * They fail when the component is broken (a bad image, a schema that does not load, an engine
 * that can reach out, a load that does not run).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractFromZip } from '../../src/util/zip.js';
import { tempDir } from '../helpers/fixtures.js';
import { needRig, rig } from '../helpers/rig.js';

const docker = (...args: string[]) =>
  execFileSync('/usr/bin/docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const started: string[] = [];
const networks: string[] = [];

async function poll(url: string, want: (body: string) => boolean, seconds: number): Promise<string> {
  let last = '';
  for (let i = 0; i < seconds * 2; i++) {
    try {
      const res = await fetch(url);
      last = `${res.status} ${await res.text()}`;
      if (res.ok && want(last)) return last;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} never answered as expected; last: ${last}`);
}

function hostPort(container: string, port: number): number {
  return Number(docker('port', container, String(port)).split('\n')[0]!.split(':').pop());
}

describe.skipIf(!rig)('the rig', () => {
  afterAll(() => {
    for (const c of started) {
      try {
        docker('rm', '-f', c);
      } catch {
        /* gone */
      }
    }
    for (const n of networks) {
      try {
        docker('network', 'rm', n);
      } catch {
        /* gone */
      }
    }
  });

  it('the rekor-tiles image serves SERVING on /healthz with a generated Ed25519 key and a storage volume', async () => {
    const r = needRig();
    const dir = tempDir('rig-tiles-');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    chownSync(key, 65532, 65532);
    chmodSync(key, 0o600);
    mkdirSync(path.join(dir, 'data'));
    chownSync(path.join(dir, 'data'), 65532, 65532);
    const image = `${r.registry}/sigstore/rekor-tiles/posix:v2.3.0`;
    docker('pull', '-q', image);
    const name = `rig-selftest-tiles-${process.pid}`;
    started.push(name);
    docker(
      'run',
      '-d',
      '--name',
      name,
      '-p',
      '127.0.0.1::3000',
      '-v',
      `${key}:/pki/key.pem:ro`,
      '-v',
      `${dir}/data:/data`,
      image,
      'rekor-server',
      'serve',
      '--http-address=0.0.0.0',
      '--hostname=rig.selftest',
      '--storage-dir=/data',
      '--signer-filepath=/pki/key.pem',
      '--checkpoint-interval=1s',
    );
    const body = await poll(
      `http://127.0.0.1:${hostPort(name, 3000)}/healthz`,
      (b) => b.includes('"status":"SERVING"'),
      60,
    );
    expect(body).toContain('{"status":"SERVING"}');
    // It really writes its log to the volume: a signed checkpoint for the origin appears.
    for (let i = 0; i < 20 && !readFileSafe(`${dir}/data/checkpoint`).startsWith('rig.selftest\n'); i++)
      await new Promise((res) => setTimeout(res, 500));
    expect(readFileSafe(`${dir}/data/checkpoint`)).toMatch(/^rig\.selftest\n0\n/);
  });

  it('trillian_log_server answers /healthz against the MariaDB image with the Trillian schema loaded', async () => {
    const r = needRig();
    const dir = tempDir('rig-trillian-');
    const zip = readFileSync(path.join(r.goModCacheDownload, 'github.com/google/trillian/@v/v1.7.3.zip'));
    mkdirSync(path.join(dir, 'initdb'));
    writeFileSync(
      path.join(dir, 'initdb/storage.sql'),
      extractFromZip(zip, 'github.com/google/trillian@v1.7.3/storage/mysql/schema/storage.sql', 'trillian zip'),
    );
    const net = `rig-selftest-${process.pid}`;
    docker('network', 'create', net);
    networks.push(net);
    const db = `rig-selftest-db-${process.pid}`;
    started.push(db);
    docker('pull', '-q', `${r.registry}/library/mariadb:11.8`);
    docker(
      'run',
      '-d',
      '--name',
      db,
      '--network',
      net,
      '--network-alias',
      'db',
      '-e',
      'MARIADB_ROOT_PASSWORD=rootpw',
      '-e',
      'MARIADB_DATABASE=trillian',
      '-e',
      'MARIADB_USER=trillian',
      '-e',
      'MARIADB_PASSWORD=trillianpw',
      '-v',
      `${dir}/initdb:/docker-entrypoint-initdb.d:ro`,
      `${r.registry}/library/mariadb:11.8`,
    );
    for (let i = 0; i < 120; i++) {
      try {
        docker('exec', db, 'healthcheck.sh', '--connect');
        break;
      } catch {
        await new Promise((res) => setTimeout(res, 500));
      }
    }
    const tables = docker('exec', db, 'mariadb', '-utrillian', '-ptrillianpw', 'trillian', '-N', '-e', 'SHOW TABLES');
    expect(tables).toContain('Trees');
    expect(tables).toContain('Subtree');
    const ts = `rig-selftest-tls-${process.pid}`;
    started.push(ts);
    const image = `${r.registry}/sigstore/scaffolding/trillian_log_server:v1.7.3`;
    docker('pull', '-q', image);
    docker(
      'run',
      '-d',
      '--name',
      ts,
      '--network',
      net,
      '-p',
      '127.0.0.1::8091',
      image,
      '--storage_system=mysql',
      '--mysql_uri=trillian:trillianpw@tcp(db:3306)/trillian?parseTime=true',
      '--rpc_endpoint=0.0.0.0:8090',
      '--http_endpoint=0.0.0.0:8091',
      '--quota_system=noop',
    );
    const body = await poll(`http://127.0.0.1:${hostPort(ts, 8091)}/healthz`, (b) => b.startsWith('200'), 60);
    expect(body).toMatch(/^200 ok/);
  });

  it('the air-gapped engine cannot pull', () => {
    const r = needRig();
    expect(() =>
      execFileSync('/usr/bin/docker', ['-H', r.offlineDockerHost, 'pull', `${r.registry}/library/nginx:1.30`], {
        stdio: 'pipe',
      }),
    ).toThrow(/connection refused|dial tcp|no route|timeout/i);
  });

  it('an image loaded into the air-gapped engine from a docker save runs there', () => {
    const r = needRig();
    const dir = tempDir('rig-save-');
    const image = `${r.registry}/sigstore/rekor-tiles/posix:v2.3.0`;
    docker('pull', '-q', image);
    const tar = path.join(dir, 'image.tar');
    docker('save', '-o', tar, image);
    execFileSync('/usr/bin/docker', ['-H', r.offlineDockerHost, 'load', '-i', tar], { stdio: 'pipe' });
    const out = execFileSync(
      '/usr/bin/docker',
      ['-H', r.offlineDockerHost, 'run', '--rm', image, 'rekor-server', 'serve', '--help'],
      { encoding: 'utf8' },
    );
    expect(out).toContain('--storage-dir');
  });
});

function readFileSafe(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}
