import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { json, runCli, CLI, ROOT } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { needRig, rigMirrors, rigSources, rig } from '../helpers/rig.js';
import { startRegistryProxy } from '../helpers/registry-proxy.js';
import { runCli as runApp } from '../../src/cli/app.js';
import { bufferIo } from '../../src/cli/output.js';

interface Manifest {
  images: Array<{
    ref: string;
    digest: string;
    manifestDigest: string;
    layoutManifestDigest: string;
    configDigest: string;
    platform: string;
  }>;
  files: Array<{ path: string; size: number; sha256: string }>;
}

const docker = (host: string, ...args: string[]) =>
  execFileSync('/usr/bin/docker', ['-H', host, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else h.update(r + '\0').update(readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return h.digest('hex');
}

describe.skipIf(!rig)('bundle create', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  let manifest: Manifest;
  let dockerConfig: string;
  let tlsArgs: string[];

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir();
    key = await makeSigningKey(dir);
    // Credentials for the TLS registry, where an operator keeps them: a Docker client config.
    dockerConfig = path.join(dir, 'docker-config');
    mkdirSync(dockerConfig);
    writeFileSync(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          [r.tlsRegistry]: { auth: Buffer.from(`${r.tlsRegistryUser}:${r.tlsRegistryPassword}`).toString('base64') },
        },
      }),
    );
    tlsArgs = [
      '--sigstore-trusted-root',
      r.sigstoreTrustedRoot,
      '--mirror',
      `ghcr.io=${r.tlsRegistry}`,
      '--mirror',
      `docker.io=${r.tlsRegistry}`,
      '--registry-ca',
      r.tlsRegistryCa,
      '--mirror',
      `proxy.golang.org=file://${r.goModCacheDownload}`,
    ];
    bundle = path.join(dir, 'bundle');
    const res = await runCli(
      [
        'bundle',
        'create',
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
        '--json',
        ...tlsArgs,
      ],
      { env: { DOCKER_CONFIG: dockerConfig } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    manifest = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8'));
  });

  it('keygen wrote an encrypted private key readable only by its owner', () => {
    expect(statSync(key.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key.key, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
  });

  it('pulls every image of both profiles through the TLS + auth registry, recording upstream names', () => {
    expect(manifest.images.map((i) => i.ref).sort()).toEqual([
      'docker.io/library/mariadb:11.8',
      'docker.io/library/nginx:1.30',
      'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2',
      'ghcr.io/sigstore/rekor/rekor-server:v1.6.1',
      'ghcr.io/sigstore/scaffolding/createtree:v1.7.3',
      'ghcr.io/sigstore/scaffolding/trillian_log_server:v1.7.3',
      'ghcr.io/sigstore/scaffolding/trillian_log_signer:v1.7.3',
      'ghcr.io/sigstore/timestamp-server:v2.1.5',
      // The witness, a companion of rekor-v2: the same bundle installs witnesses.
      'ghcr.io/transparency-dev/witness/omniwitness:v0.0.0-20260720115447-2e1c6971d19e',
    ]);
    for (const img of manifest.images) expect(img.platform).toBe('linux/amd64');
  });

  it('records the digest each tag resolves to in the registry', () => {
    const r = needRig();
    for (const img of manifest.images) {
      const repo = img.ref.replace(/^[^/]+\//, '');
      const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${r.registry}/${repo}`]);
      expect(img.digest, img.ref).toBe(`sha256:${createHash('sha256').update(raw).digest('hex')}`);
    }
  });

  it('picks the linux/amd64 manifest out of the multi-platform nginx index', () => {
    const r = needRig();
    const nginx = manifest.images.find((i) => i.ref.includes('nginx'))!;
    // The index as the registry serves it: which entry is amd64 is the registry's word, not ours.
    const raw = execFileSync('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${r.registry}/library/nginx:1.30`,
    ]);
    const index = JSON.parse(raw.toString('utf8')) as {
      manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
    };
    const amd64 = index.manifests.find((m) => m.platform.architecture === 'amd64' && m.platform.os === 'linux')!;
    const arm64 = index.manifests.find((m) => m.platform.architecture === 'arm64')!;
    expect(nginx.digest).toBe(`sha256:${createHash('sha256').update(raw).digest('hex')}`);
    expect(nginx.manifestDigest).toBe(amd64.digest);
    expect(nginx.manifestDigest).not.toBe(arm64.digest);
    expect(nginx.platform).toBe('linux/amd64');
  });

  it('writes an OCI layout that skopeo reads, one image per upstream name', () => {
    for (const img of manifest.images) {
      const out = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${path.join(bundle, 'images')}:${img.ref}`], { encoding: 'utf8' }),
      );
      expect(out.Digest, img.ref).toBe(img.layoutManifestDigest);
      expect(out.Architecture).toBe('amd64');
    }
  });

  it('stores layers shared between images once', () => {
    const blobsDir = path.join(bundle, 'images/blobs/sha256');
    const counts = new Map<string, number>();
    for (const img of manifest.images) {
      const m = JSON.parse(readFileSync(path.join(blobsDir, img.layoutManifestDigest.slice(7)), 'utf8'));
      for (const l of m.layers) counts.set(l.digest, (counts.get(l.digest) ?? 0) + 1);
    }
    const shared = [...counts.entries()].filter(([, n]) => n > 1);
    expect(shared.length).toBeGreaterThan(0); // the distroless-like base under every Go server
    const blobFiles = readdirSync(blobsDir);
    // Bytes: everything under images/ (any per-image copy would show) is less than the images'
    // layers counted per image, by at least the shared layers counted more than once.
    const du = (d: string): number =>
      readdirSync(d, { withFileTypes: true }).reduce(
        (a, e) => a + (e.isDirectory() ? du(path.join(d, e.name)) : statSync(path.join(d, e.name)).size),
        0,
      );
    const layerSize = new Map<string, number>();
    let perImage = 0;
    for (const img of manifest.images) {
      const m = JSON.parse(readFileSync(path.join(blobsDir, img.layoutManifestDigest.slice(7)), 'utf8'));
      for (const l of m.layers) {
        perImage += l.size;
        layerSize.set(l.digest, l.size);
      }
    }
    const sharedExtra = shared.reduce((a, [d, n]) => a + (n - 1) * layerSize.get(d)!, 0);
    expect(du(path.join(bundle, 'images'))).toBeLessThanOrEqual(perImage - sharedExtra + 1024 * 1024);
    const sizeOnDisk = blobFiles.length;
    const referenced = new Set<string>();
    for (const img of manifest.images) {
      referenced.add(img.manifestDigest).add(img.layoutManifestDigest).add(img.configDigest);
    }
    for (const d of counts.keys()) referenced.add(d);
    expect(sizeOnDisk).toBe(referenced.size);
  });

  it('docker load (air-gapped engine) takes the images, with image IDs equal to the recorded config digests', () => {
    const r = needRig();
    execFileSync('sh', [
      '-c',
      `tar -C ${path.join(bundle, 'images')} -cf - manifest.json blobs | /usr/bin/docker -H ${r.offlineDockerHost} load`,
    ]);
    for (const img of manifest.images) {
      expect(docker(r.offlineDockerHost, 'image', 'inspect', '--format', '{{.Id}}', img.ref).trim(), img.ref).toBe(
        img.configDigest,
      );
    }
  });

  it('signs bundle.json so that openssl and cosign verify it without this tool', () => {
    const r = needRig();
    const sig = path.join(dir, 'sig.der');
    writeFileSync(sig, Buffer.from(readFileSync(path.join(bundle, 'bundle.json.sig'), 'utf8'), 'base64'));
    expect(
      execFileSync(
        'openssl',
        ['dgst', '-sha256', '-verify', key.pub, '-signature', sig, path.join(bundle, 'bundle.json')],
        { encoding: 'utf8' },
      ),
    ).toContain('Verified OK');
    // cosign runs in the air-gapped namespace: it must not need (or try) the network.
    const out = execFileSync(
      'nsenter',
      [
        `--net=/var/run/netns/${r.offlineNetns}`,
        r.cosign,
        'verify-blob',
        '--key',
        key.pub,
        '--signature',
        path.join(bundle, 'bundle.json.sig'),
        '--insecure-ignore-tlog=true',
        path.join(bundle, 'bundle.json'),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    void out;
    // a changed manifest no longer verifies
    const tampered = path.join(dir, 'tampered.json');
    writeFileSync(
      tampered,
      readFileSync(path.join(bundle, 'bundle.json'), 'utf8').replace('linux/amd64', 'linux/arm64'),
    );
    expect(() =>
      execFileSync('openssl', ['dgst', '-sha256', '-verify', key.pub, '-signature', sig, tampered], { stdio: 'pipe' }),
    ).toThrow();
  });

  it('lists every file with its size and sha256, including the installer and a Node runtime', () => {
    const paths = manifest.files.map((f) => f.path);
    for (const p of [
      'install.sh',
      'installer/rekor-airgap.mjs',
      'installer/node',
      'images/index.json',
      'images/manifest.json',
      'templates/rekor-v2/compose.yaml',
      'templates/rekor-v1/compose.yaml',
      'artifacts/trillian-storage.sql',
      'profiles/rekor-v2.yaml',
    ]) {
      expect(paths).toContain(p);
    }
    for (const f of manifest.files) {
      const bytes = readFileSync(path.join(bundle, f.path));
      expect(bytes.length, f.path).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
    expect(readFileSync(path.join(bundle, 'artifacts/trillian-storage.sql'), 'utf8')).toContain(
      'CREATE TABLE IF NOT EXISTS Trees',
    );
  });

  it('gives a byte-identical bundle for the same inputs and SOURCE_DATE_EPOCH', async () => {
    const r = needRig();
    const a = path.join(dir, 'same-a');
    const b = path.join(dir, 'same-b');
    for (const out of [a, b]) {
      const res = await runCli(
        [
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
        ],
        { env: { SOURCE_DATE_EPOCH: '1767225600' } },
      );
      expect(res.exitCode, res.stderr).toBe(0);
    }
    expect(JSON.parse(readFileSync(path.join(a, 'bundle.json'), 'utf8')).createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(treeDigest(a)).toBe(treeDigest(b));
  });

  it('--source docker takes the same images through the local engine: same digests, loadable, readable', async () => {
    const r = needRig();
    const out = path.join(dir, 'via-engine');
    const res = await runCli(
      [
        'bundle',
        'create',
        '--quiet',
        '--source',
        'docker',
        '--profile',
        'rekor-v2',
        '--out',
        out,
        '--key',
        key.key,
        '--passphrase-file',
        key.passphraseFile,
        ...rigSources(r),
      ],
      { env: { DOCKER_HOST: r.connectedDockerHost } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const m: Manifest = JSON.parse(readFileSync(path.join(out, 'bundle.json'), 'utf8'));
    for (const img of m.images) {
      const viaRegistry = manifest.images.find((i) => i.ref === img.ref)!;
      expect(img.digest, img.ref).toBe(viaRegistry.digest);
      expect(img.configDigest, img.ref).toBe(viaRegistry.configDigest);
      const out2 = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${path.join(out, 'images')}:${img.ref}`], { encoding: 'utf8' }),
      );
      expect(out2.Digest).toBe(img.layoutManifestDigest);
    }
    for (const img of m.images) {
      try {
        docker(r.offlineDockerHost, 'rmi', '-f', img.ref);
      } catch {
        /* absent */
      }
    }
    execFileSync('sh', [
      '-c',
      `tar -C ${path.join(out, 'images')} -cf - manifest.json blobs | /usr/bin/docker -H ${r.offlineDockerHost} load`,
    ]);
    for (const img of m.images)
      expect(docker(r.offlineDockerHost, 'image', 'inspect', '--format', '{{.Id}}', img.ref).trim()).toBe(
        img.configDigest,
      );
  });

  it("a bundle for another platform carries that platform's image and a Node runtime for it, from the npm registry", async () => {
    const r = needRig();
    const base = path.join(dir, 'arm-profile');
    mkdirSync(path.join(base, 'bundles'), { recursive: true });
    mkdirSync(path.join(base, 'templates/nginx-only'), { recursive: true });
    writeFileSync(path.join(base, 'templates/nginx-only/README'), 'nginx only\n');
    writeFileSync(
      path.join(base, 'bundles/nginx-only.yaml'),
      'name: nginx-only\nkind: rekor-v2\nimages:\n  - name: nginx\n    ref: docker.io/library/nginx:1.30\ntemplates: [README]\nports:\n  https: 3443\n',
    );
    const out = path.join(dir, 'arm64');
    const res = await runCli([
      'bundle',
      'create',
      '--quiet',
      '--json',
      '--platform',
      'linux/arm64',
      '--profile',
      path.join(base, 'bundles/nginx-only.yaml'),
      '--out',
      out,
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      ...rigSources(r),
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const m: Manifest = JSON.parse(readFileSync(path.join(out, 'bundle.json'), 'utf8'));
    expect(m.images[0]!.platform).toBe('linux/arm64/v8');
    const amd = manifest.images.find((i) => i.ref === 'docker.io/library/nginx:1.30')!;
    expect(m.images[0]!.digest).toBe(amd.digest); // the same index ...
    expect(m.images[0]!.manifestDigest).not.toBe(amd.manifestDigest); // ... another platform's manifest
    const elf = readFileSync(path.join(out, 'installer/node')).subarray(0, 20);
    expect(elf.readUInt32BE(0)).toBe(0x7f454c46);
    expect(elf.readUInt16LE(18)).toBe(0xb7); // EM_AARCH64
  });

  describe('when the input is bad', () => {
    const create = (out: string, extra: string[], env: Record<string, string> = {}) =>
      runCli(
        [
          'bundle',
          'create',
          '--quiet',
          '--out',
          out,
          '--key',
          key.key,
          '--passphrase-file',
          key.passphraseFile,
          ...extra,
        ],
        { env },
      );

    it('a full disk is named, and the bundle stays unsigned', async () => {
      const r = needRig();
      const mnt = path.join(dir, 'small-disk');
      mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mnt]);
      try {
        const out = path.join(mnt, 'bundle');
        const res = await create(out, ['--profile', 'rekor-v2', ...rigSources(r)]);
        expect(res.exitCode, res.stderr).toBe(9);
        expect(res.stderr).toContain('BUNDLE_WRITE_DISK_FULL');
        expect(res.stderr).toContain(out);
        expect(existsSync(path.join(out, 'bundle.json.sig'))).toBe(false);
      } finally {
        execFileSync('umount', [mnt]);
      }
    });

    it('an unknown profile is a usage error naming the known ones, and writes nothing', async () => {
      const out = path.join(dir, 'bad-profile');
      const res = await create(out, ['--profile', 'rekor-v9']);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toContain('PROFILE_UNKNOWN');
      expect(res.stderr).toContain('rekor-v2');
      expect(existsSync(out)).toBe(false);
    });

    it('an unreachable registry is named, and the partial bundle is not signed', async () => {
      const out = path.join(dir, 'unreachable');
      const res = await create(out, ['--mirror', 'ghcr.io=127.0.0.1:9', '--mirror', 'docker.io=127.0.0.1:9']);
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('REGISTRY_UNREACHABLE');
      expect(res.stderr).toContain('127.0.0.1:9');
      expect(existsSync(path.join(out, 'bundle.json.sig'))).toBe(false);
      expect(existsSync(path.join(out, '.rekor-airgap-incomplete'))).toBe(true);
    });

    it('401 without credentials says that anonymous access was tried', async () => {
      const r = needRig();
      const res = await create(
        path.join(dir, 'anon'),
        [
          '--mirror',
          `ghcr.io=${r.tlsRegistry}`,
          '--mirror',
          `docker.io=${r.tlsRegistry}`,
          '--registry-ca',
          r.tlsRegistryCa,
        ],
        { DOCKER_CONFIG: path.join(dir, 'no-such-config') },
      );
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('REGISTRY_UNAUTHORIZED');
      expect(res.stderr).toContain('anonymous');
    });

    it('401 with wrong credentials names where they came from', async () => {
      const r = needRig();
      const cfg = path.join(dir, 'wrong-config');
      mkdirSync(cfg);
      writeFileSync(
        path.join(cfg, 'config.json'),
        JSON.stringify({ auths: { [r.tlsRegistry]: { auth: Buffer.from('rig:wrong').toString('base64') } } }),
      );
      const res = await create(
        path.join(dir, 'wrong'),
        [
          '--mirror',
          `ghcr.io=${r.tlsRegistry}`,
          '--mirror',
          `docker.io=${r.tlsRegistry}`,
          '--registry-ca',
          r.tlsRegistryCa,
        ],
        { DOCKER_CONFIG: cfg },
      );
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('REGISTRY_UNAUTHORIZED');
      expect(res.stderr).toContain(path.join(cfg, 'config.json'));
      expect(res.stderr).toContain('user rig');
    });

    it('an untrusted TLS registry says to pass its CA', async () => {
      const r = needRig();
      const res = await create(
        path.join(dir, 'noca'),
        ['--mirror', `ghcr.io=${r.tlsRegistry}`, '--mirror', `docker.io=${r.tlsRegistry}`],
        { DOCKER_CONFIG: dockerConfig },
      );
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('REGISTRY_TLS');
      expect(res.stderr).toContain('--registry-ca');
    });

    it('a platform the index lacks is named with the platforms it has', async () => {
      const r = needRig();
      const res = await create(path.join(dir, 'platform'), [
        '--platform',
        'linux/s390x',
        '--node-runtime',
        process.execPath,
        ...rigSources(r),
      ]);
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('REGISTRY_PLATFORM_NOT_FOUND');
      expect(res.stderr).toMatch(/linux\/amd64.*linux\/arm64|linux\/amd64/);
    });

    it('a blob that does not match its digest is refused', async () => {
      const r = needRig();
      const proxy = await startRegistryProxy(r.registry, { corruptLargeBlobs: true });
      try {
        const out = path.join(dir, 'corrupt');
        const res = await create(out, ['--mirror', `ghcr.io=${proxy.host}`, '--mirror', `docker.io=${proxy.host}`]);
        expect(res.exitCode).toBe(5);
        expect(res.stderr).toContain('REGISTRY_DIGEST_MISMATCH');
        expect(existsSync(path.join(out, 'bundle.json'))).toBe(false);
      } finally {
        await proxy.close();
      }
    });

    it('a tag that drifted from the lock file is refused with both digests', async () => {
      const r = needRig();
      const prof = path.join(dir, 'lockprof/bundles');
      mkdirSync(prof, { recursive: true });
      copyFileSync(path.join(ROOT, 'bundles/rekor-v2.yaml'), path.join(prof, 'rekor-v2.yaml'));
      // Its companion is looked up beside it.
      copyFileSync(path.join(ROOT, 'bundles/witness.yaml'), path.join(prof, 'witness.yaml'));
      const lock = await runCli([
        'bundle',
        'lock',
        '--quiet',
        '--profile',
        path.join(prof, 'rekor-v2.yaml'),
        ...rigMirrors(r),
      ]);
      expect(lock.exitCode, lock.stderr).toBe(0);
      const lockFile = path.join(prof, 'rekor-v2.lock.json');
      const locked = JSON.parse(readFileSync(lockFile, 'utf8'));
      const real = locked.images['ghcr.io/sigstore/rekor-tiles/posix:v2.4.2'].digest;
      const ok = await create(path.join(dir, 'locked-ok'), [
        '--profile',
        path.join(prof, 'rekor-v2.yaml'),
        ...rigSources(r),
      ]);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const fake = `sha256:${'0'.repeat(64)}`;
      locked.images['ghcr.io/sigstore/rekor-tiles/posix:v2.4.2'].digest = fake;
      writeFileSync(lockFile, JSON.stringify(locked));
      const res = await create(path.join(dir, 'locked-drift'), [
        '--profile',
        path.join(prof, 'rekor-v2.yaml'),
        ...rigSources(r),
      ]);
      expect(res.exitCode).toBe(5);
      expect(res.stderr).toContain('BUNDLE_LOCK_DRIFT');
      expect(res.stderr).toContain(fake);
      expect(res.stderr).toContain(real);
      // --no-lock ignores that (drifted) lock file: run in-process, through the app factory.
      const io = bufferIo();
      const code = await runApp(
        [
          'bundle',
          'create',
          '--quiet',
          '--profile',
          path.join(prof, 'rekor-v2.yaml'),
          '--out',
          path.join(dir, 'no-lock'),
          '--key',
          key.key,
          '--passphrase-file',
          key.passphraseFile,
          '--no-lock',
          ...rigSources(r),
        ],
        io,
      );
      expect(code, io.stderr()).toBe(0);
      const built = JSON.parse(readFileSync(path.join(dir, 'no-lock', 'bundle.json'), 'utf8')) as Manifest;
      expect(built.images.find((i) => i.ref === 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2')?.digest).toBe(real);
    });

    it('an interrupted create is never signed, and a rerun resumes it', async () => {
      const r = needRig();
      const proxy = await startRegistryProxy(r.registry, { stallBlobsAfter: 3 });
      const out = path.join(dir, 'interrupted');
      try {
        const child = spawn(
          process.execPath,
          [
            CLI,
            'bundle',
            'create',
            '--quiet',
            '--profile',
            'rekor-v2',
            '--profile',
            'rekor-v1',
            '--out',
            out,
            '--key',
            key.key,
            '--passphrase-file',
            key.passphraseFile,
            '--concurrency',
            '1',
            '--mirror',
            `ghcr.io=${proxy.host}`,
            '--mirror',
            `docker.io=${proxy.host}`,
            '--mirror',
            `proxy.golang.org=file://${r.goModCacheDownload}`,
          ],
          { stdio: 'ignore' },
        );
        // Killed while a blob download hangs: the create is midway, with blobs already written.
        await proxy.stalled;
        child.kill('SIGKILL');
        await new Promise((res) => child.on('exit', res));
      } finally {
        await proxy.close();
      }
      expect(existsSync(path.join(out, '.rekor-airgap-incomplete'))).toBe(true);
      expect(existsSync(path.join(out, 'bundle.json'))).toBe(false);
      expect(existsSync(path.join(out, 'bundle.json.sig'))).toBe(false);
      const res = await runCli([
        'bundle',
        'create',
        '--json',
        '--quiet',
        '--profile',
        'rekor-v2',
        '--profile',
        'rekor-v1',
        '--out',
        out,
        '--key',
        key.key,
        '--passphrase-file',
        key.passphraseFile,
        ...rigSources(r),
      ]);
      expect(res.exitCode, res.stderr).toBe(0);
      expect(json<{ blobsSkipped: number }>(res).blobsSkipped).toBeGreaterThan(0);
      expect(existsSync(path.join(out, '.rekor-airgap-incomplete'))).toBe(false);
      expect(existsSync(path.join(out, 'bundle.json.sig'))).toBe(true);
    });

    it('a complete bundle is not overwritten without --force', async () => {
      const res = await create(bundle, ['--profile', 'rekor-v2']);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toContain('USAGE_OUT_EXISTS');
    });
  });
});
