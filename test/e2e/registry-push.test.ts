/**
 * Beyond one Docker host: a verified bundle fills a site's internal registry (the rig's plain one
 * and its TLS + basic-auth one) under the upstream digests, a Helm chart travels in the bundle as
 * an OCI artifact, and `helm template` with the generated values references only the internal
 * registry, by digest.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { json, ROOT, runCli } from '../helpers/cli.js';
import { makeSigningKey, tempDir, type SigningKey } from '../helpers/fixtures.js';
import { startRegistryProxy } from '../helpers/registry-proxy.js';
import { needRig, rigSources, rig } from '../helpers/rig.js';

interface Artifact {
  kind: string;
  ref: string;
  pinnedDigest: string;
  manifestDigest: string;
  target: string;
  tagged?: string;
  indexNotPushed?: string;
  blobs: { uploaded: number; mounted: number; skipped: number };
}
interface ImageMap {
  registry: string;
  prefix: string;
  artifacts: Artifact[];
}
interface BundleJson {
  images: Array<{ ref: string; digest: string; manifestDigest: string }>;
  charts?: Array<{ ref: string; digest: string; version: string; chartDigest: string }>;
}

const RUN = `r${Date.now().toString(36).slice(-6)}`;
const CHART = path.join(ROOT, 'test/fixtures/charts/rekor-tiles');

function sha256Raw(args: string[]): string {
  const raw = execFileSync('skopeo', ['inspect', '--raw', ...args], { maxBuffer: 16 << 20 });
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

describe.skipIf(!rig)('bundle push into an internal registry; a chart in the bundle; Helm values', () => {
  let dir: string;
  let key: SigningKey;
  let bundle: string;
  let bundleJson: BundleJson;
  let dockerConfig: string;
  const chartRef = `ghcr.io/rekor-airgap-fixtures/${RUN}/rekor-tiles:0.1.0`;

  beforeAll(async () => {
    const r = needRig();
    dir = tempDir('push-test-');
    key = await makeSigningKey(dir);
    // Publish the test chart the way a chart is published: helm package, helm push (OCI).
    const pkg = path.join(dir, 'chart');
    mkdirSync(pkg);
    execFileSync(r.helm, ['package', CHART, '--destination', pkg], { encoding: 'utf8' });
    execFileSync(
      r.helm,
      [
        'push',
        path.join(pkg, 'rekor-tiles-0.1.0.tgz'),
        `oci://${r.registry}/rekor-airgap-fixtures/${RUN}`,
        '--plain-http',
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    bundle = path.join(dir, 'bundle');
    const c = await runCli([
      'bundle',
      'create',
      '--quiet',
      '--profile',
      'rekor-v2',
      '--chart',
      chartRef,
      '--out',
      bundle,
      '--key',
      key.key,
      '--passphrase-file',
      key.passphraseFile,
      ...rigSources(r),
      '--json',
    ]);
    expect(c.exitCode, c.stderr).toBe(0);
    bundleJson = JSON.parse(readFileSync(path.join(bundle, 'bundle.json'), 'utf8')) as BundleJson;
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
  }, 300_000);

  it('the chart travels in the bundle as an OCI artifact, under the digest helm push made', () => {
    const r = needRig();
    expect(bundleJson.charts).toHaveLength(1);
    const chart = bundleJson.charts![0]!;
    expect(chart.ref).toBe(chartRef);
    expect(chart.version).toBe('0.1.0');
    expect(chart.digest).toBe(
      sha256Raw(['--tls-verify=false', `docker://${r.registry}/rekor-airgap-fixtures/${RUN}/rekor-tiles:0.1.0`]),
    );
    // The chart archive in the bundle is the one helm packaged.
    const tgz = readFileSync(path.join(dir, 'chart', 'rekor-tiles-0.1.0.tgz'));
    expect(chart.chartDigest).toBe(`sha256:${createHash('sha256').update(tgz).digest('hex')}`);
  });

  it('push to the plain registry: every image resolves at REGISTRY/PREFIX/repo@<upstream digest>; a rerun uploads nothing', async () => {
    const r = needRig();
    const prefix = `site/${RUN}`;
    const mapFile = path.join(dir, 'plain-map.json');
    const res = await runCli([
      'bundle',
      'push',
      bundle,
      '--trust',
      key.pub,
      '--registry',
      r.registry,
      '--prefix',
      prefix,
      '--map',
      mapFile,
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const map = json<ImageMap>(res);
    expect(JSON.parse(readFileSync(mapFile, 'utf8'))).toEqual(map);
    expect(map.artifacts.map((a) => a.ref).sort()).toEqual([...bundleJson.images.map((i) => i.ref), chartRef].sort());
    for (const img of bundleJson.images) {
      const a = map.artifacts.find((x) => x.ref === img.ref)!;
      const repo = new URL(`https://${img.ref.replace(/:[^/:]+$/, '')}`).pathname.slice(1);
      expect(a.target).toBe(`${r.registry}/${prefix}/${repo}@${img.manifestDigest}`);
      // skopeo reads it back by the upstream digest, and the bytes hash to it.
      expect(sha256Raw(['--tls-verify=false', `docker://${a.target}`])).toBe(img.manifestDigest);
      expect(sha256Raw(['--tls-verify=false', `docker://${a.tagged}`])).toBe(img.manifestDigest);
      // A multi-platform upstream (nginx is an index in the rig) says its index was not pushed.
      if (img.digest !== img.manifestDigest) expect(a.indexNotPushed).toContain(img.digest);
      else expect(a.indexNotPushed).toBeUndefined();
    }
    expect(map.artifacts.some((a) => a.indexNotPushed)).toBe(true);
    // Shared base layers go to the second repository by a cross-repository mount.
    expect(map.artifacts.reduce((n, a) => n + a.blobs.mounted, 0)).toBeGreaterThan(0);
    const again = await runCli([
      'bundle',
      'push',
      bundle,
      '--trust',
      key.pub,
      '--registry',
      r.registry,
      '--prefix',
      prefix,
      '--map',
      mapFile,
      '--json',
    ]);
    expect(again.exitCode, again.stderr).toBe(0);
    const second = json<ImageMap>(again);
    expect(second.artifacts.map((a) => a.blobs.uploaded + a.blobs.mounted)).toEqual(second.artifacts.map(() => 0));
    expect(second.artifacts.every((a) => a.blobs.skipped > 0)).toBe(true);
  });

  it("push to the TLS + basic-auth registry, in 1 MiB chunks: skopeo sees the bundle's digests; wrong credentials are refused (exit 5)", async () => {
    const r = needRig();
    const prefix = `tls/${RUN}`;
    const res = await runCli(
      [
        'bundle',
        'push',
        bundle,
        '--trust',
        key.pub,
        '--registry',
        r.tlsRegistry,
        '--prefix',
        prefix,
        '--registry-ca',
        r.tlsRegistryCa,
        '--chunk-size',
        '1MiB',
        '--map',
        path.join(dir, 'tls-map.json'),
        '--json',
      ],
      { env: { DOCKER_CONFIG: dockerConfig } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const map = json<ImageMap>(res);
    const creds = `${r.tlsRegistryUser}:${r.tlsRegistryPassword}`;
    const certDir = path.dirname(r.tlsRegistryCa) + '/certs.d';
    for (const a of map.artifacts) {
      expect(sha256Raw(['--cert-dir', certDir, '--creds', creds, `docker://${a.target}`])).toBe(a.manifestDigest);
    }
    const wrong = path.join(dir, 'wrong-config');
    mkdirSync(wrong);
    writeFileSync(
      path.join(wrong, 'config.json'),
      JSON.stringify({
        auths: { [r.tlsRegistry]: { auth: Buffer.from(`${r.tlsRegistryUser}:wrong`).toString('base64') } },
      }),
    );
    const refused = await runCli(
      [
        'bundle',
        'push',
        bundle,
        '--trust',
        key.pub,
        '--registry',
        r.tlsRegistry,
        '--prefix',
        `tls/${RUN}-x`,
        '--registry-ca',
        r.tlsRegistryCa,
        '--map',
        path.join(dir, 'x.json'),
        '--json',
      ],
      { env: { DOCKER_CONFIG: wrong } },
    );
    expect(refused.exitCode, refused.stderr).toBe(5);
    expect(refused.stderr).toMatch(/REGISTRY_UNAUTHORIZED|REGISTRY_FORBIDDEN/);
  });

  it('an interrupted push resumes: the rerun sends only what the first run did not', async () => {
    const r = needRig();
    const prefix = `cut/${RUN}`;
    const proxy = await startRegistryProxy(r.registry, { cutUploadsAfter: 3 });
    let first;
    try {
      first = await runCli([
        'bundle',
        'push',
        bundle,
        '--trust',
        key.pub,
        '--registry',
        proxy.host,
        '--prefix',
        prefix,
        '--map',
        path.join(dir, 'cut.json'),
        '--concurrency',
        '1',
        '--json',
      ]);
    } finally {
      await proxy.close();
    }
    expect(first.exitCode, first.stderr).toBe(5);
    expect(first.stderr).toMatch(/REGISTRY_(UNREACHABLE|STREAM_BROKEN)/);
    const res = await runCli([
      'bundle',
      'push',
      bundle,
      '--trust',
      key.pub,
      '--registry',
      r.registry,
      '--prefix',
      prefix,
      '--map',
      path.join(dir, 'cut.json'),
      '--json',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const map = json<ImageMap>(res);
    const skipped = map.artifacts.reduce((n, a) => n + a.blobs.skipped, 0);
    const sent = map.artifacts.reduce((n, a) => n + a.blobs.uploaded + a.blobs.mounted, 0);
    expect(skipped).toBeGreaterThanOrEqual(3);
    expect(sent).toBeGreaterThan(0);
  });

  it('a damaged bundle is refused before anything is pushed (exit 3)', async () => {
    const r = needRig();
    const copy = path.join(dir, 'damaged');
    execFileSync('cp', ['-a', bundle, copy]);
    writeFileSync(path.join(copy, 'templates/rekor-v2/nginx.conf'), 'tampered\n');
    const res = await runCli([
      'bundle',
      'push',
      copy,
      '--trust',
      key.pub,
      '--registry',
      r.registry,
      '--prefix',
      `bad/${RUN}`,
      '--map',
      path.join(dir, 'bad.json'),
      '--json',
    ]);
    expect(res.exitCode).toBe(3);
    expect(res.stderr).toContain('templates/rekor-v2/nginx.conf');
    expect(() =>
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${r.registry}/bad/${RUN}/library/nginx:1.30`],
        { stdio: 'pipe' },
      ),
    ).toThrow();
  });

  it('helm template of the pushed chart with the generated values: every image from the internal registry by digest, no public registry or URL', async () => {
    const r = needRig();
    const prefix = `site/${RUN}`;
    const values = path.join(dir, 'values.yaml');
    const v = await runCli([
      'k8s',
      'values',
      '--bundle',
      bundle,
      '--trust',
      key.pub,
      '--registry',
      r.registry,
      '--prefix',
      prefix,
      '--origin',
      'rekor.site.internal',
      '--out',
      values,
      '--json',
    ]);
    expect(v.exitCode, v.stderr).toBe(0);
    const out = json<{ chart: string; chartRef: string; commands: string[] }>(v);
    expect(out.chart).toBe('rekor-tiles');
    expect(out.chartRef).toBe(`${chartRef}@${bundleJson.charts![0]!.digest}`);
    expect(out.commands.join('\n')).toContain('create secret generic rekor-signing-key');
    // The chart as the cluster would get it: from the internal registry, where bundle push put it.
    const rendered = execFileSync(
      r.helm,
      [
        'template',
        'rekor',
        `oci://${r.registry}/${prefix}/rekor-airgap-fixtures/${RUN}/rekor-tiles`,
        '--version',
        '0.1.0',
        '--plain-http',
        '-f',
        values,
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    const images = [...rendered.matchAll(/image:\s*"?([^"\s]+)"?/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThan(0);
    const rekor = bundleJson.images.find((i) => i.ref.includes('rekor-tiles'))!;
    for (const img of images)
      expect(img).toMatch(new RegExp(`^${r.registry.replace(/\./g, '\\.')}/${prefix}/.+@sha256:[a-f0-9]{64}$`));
    expect(images).toContain(`${r.registry}/${prefix}/sigstore/rekor-tiles/posix@${rekor.manifestDigest}`);
    expect(rendered).not.toMatch(/ghcr\.io|docker\.io|gcr\.io|quay\.io|https?:\/\//);
    expect(rendered).toContain('--hostname=rekor.site.internal');
    expect(rendered).toContain('secretName: rekor-signing-key');
    expect(rendered).toContain('claimName: rekor-tiles-storage');
    expect(rendered).not.toContain('gke-metadata-server');
  });
});
