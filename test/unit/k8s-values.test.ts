import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { chartValues, valuesFileText } from '../../src/k8s/chart-values.js';
import { parseManifest } from '../../src/bundle/manifest.js';
import { parseProfile } from '../../src/bundle/profile.js';
import { expectCode } from '../helpers/expect-code.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe("Helm values for sigstore's charts", () => {
  it('rekor-tiles: the image from the internal registry by digest (registry/repository/flavor@digest), the origin, the Secret and the volume', () => {
    const v = chartValues({
      kind: 'rekor-v2',
      registry: 'harbor.site',
      prefix: 'mirror',
      origin: 'rekor.site.internal',
      pullSecret: 'harbor',
      images: {
        rekor: { ref: 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2', manifestDigest: D('a') },
        nginx: { ref: 'docker.io/library/nginx:1.22.1', manifestDigest: D('b') },
      },
    });
    expect(v.chart).toBe('rekor-tiles');
    const values = v.values as {
      image: Record<string, string>;
      nodeSelector: unknown;
      server: { hostname: string; signer: { file: { secret: { name: string } } } };
      imagePullSecrets: unknown;
    };
    expect(values.image).toMatchObject({
      registry: 'harbor.site',
      repository: 'mirror/sigstore/rekor-tiles',
      flavor: 'posix',
      version: D('a'),
    });
    // What the upstream helper makes of it: registry/repository/flavor@version.
    expect(`${values.image.registry}/${values.image.repository}/${values.image.flavor}@${values.image.version}`).toBe(
      `harbor.site/mirror/sigstore/rekor-tiles/posix@${D('a')}`,
    );
    expect(values.nodeSelector).toBeNull();
    expect(values.server.hostname).toBe('rekor.site.internal');
    expect(values.server.signer.file.secret.name).toBe('rekor-signing-key');
    expect(values.imagePullSecrets).toEqual([{ name: 'harbor' }]);
    expect(v.commands.join('\n')).toMatch(
      /create secret generic rekor-signing-key --from-file=signing-key=rekor-signer\.pem/,
    );
    expect(v.commands.join('\n')).toMatch(/create secret docker-registry harbor --docker-server=harbor\.site/);
  });

  it('rekor + trillian: every image the bundle carries, by digest; what it does not carry is said', () => {
    const img = (ref: string, c: string) => ({ ref, manifestDigest: D(c) });
    const v = chartValues({
      kind: 'rekor-v1',
      registry: 'reg',
      prefix: '',
      origin: 'x',
      images: {
        rekor: img('ghcr.io/sigstore/rekor/rekor-server:v1.6.1', '1'),
        createtree: img('ghcr.io/sigstore/scaffolding/createtree:v1.7.3', '2'),
        trillian_log_server: img('ghcr.io/sigstore/scaffolding/trillian_log_server:v1.7.3', '3'),
        trillian_log_signer: img('ghcr.io/sigstore/scaffolding/trillian_log_signer:v1.7.3', '4'),
        mariadb: img('docker.io/library/mariadb:10.11', '5'),
      },
    });
    const t = v.values as { server: { image: object }; trillian: { logSigner: { image: object } } };
    expect(t.server.image).toMatchObject({
      registry: 'reg',
      repository: 'sigstore/rekor/rekor-server',
      version: D('1'),
    });
    expect(t.trillian.logSigner.image).toMatchObject({
      repository: 'sigstore/scaffolding/trillian_log_signer',
      version: D('4'),
    });
    expect(v.notes.join(' ')).toMatch(/createdb/);
  });

  it('the values file: the commands and notes as comments above the values, which read back as written', () => {
    const v = chartValues({
      kind: 'rekor-v2',
      registry: 'reg',
      prefix: 'p',
      origin: 'o',
      images: { rekor: { ref: 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2', manifestDigest: D('c') } },
    });
    const text = valuesFileText(v, {
      profile: 'rekor-v2',
      registry: 'reg',
      prefix: 'p',
      chartRef: `ghcr.io/sigstore/helm-charts/rekor-tiles:1.2.1@${D('d')}`,
    });
    expect(text).toContain(`(ghcr.io/sigstore/helm-charts/rekor-tiles:1.2.1@${D('d')} in this bundle)`);
    expect(text).toContain('every image from reg/p by its digest');
    for (const line of v.commands.flatMap((c) => c.split('\n'))) expect(text).toContain(`#   ${line}`);
    expect(yaml.load(text)).toEqual(v.values);
  });

  it('a profile without the image the chart needs is refused by name', () => {
    expectCode(
      () => chartValues({ kind: 'rekor-v2', registry: 'r', prefix: '', origin: 'o', images: {} }),
      'USAGE_INVALID',
    );
  });
});

describe('charts in profiles and bundle.json', () => {
  const base =
    'name: p\nkind: rekor-v2\nimages:\n  - { name: rekor, ref: "ghcr.io/a/b:v1" }\ntemplates: []\nports: { https: 443 }\n';
  it('a chart names its version as its tag', () => {
    expect(
      parseProfile(
        `${base}charts:\n  - { name: rekor-tiles, ref: "ghcr.io/sigstore/helm-charts/rekor-tiles:1.2.1" }\n`,
        'p.yaml',
      ).charts,
    ).toEqual([{ name: 'rekor-tiles', ref: 'ghcr.io/sigstore/helm-charts/rekor-tiles:1.2.1' }]);
    expectCode(
      () => parseProfile(`${base}charts:\n  - { name: c, ref: "ghcr.io/x/c" }\n`, 'p.yaml'),
      'PROFILE_INVALID',
    );
  });

  it('bundle.json charts need sha256 digests', () => {
    const m = {
      formatVersion: 1,
      createdAt: 'x',
      tool: { name: 'rekor-airgap', version: '1' },
      platform: 'linux/amd64',
      profiles: ['p'],
      images: [],
      files: [],
      charts: [
        {
          name: 'c',
          ref: 'r/c:1',
          digest: 'sha256:bad',
          chartDigest: D('a'),
          configDigest: D('a'),
          version: '1',
          size: 1,
          profiles: ['p'],
        },
      ],
    };
    expectCode(() => parseManifest(JSON.stringify(m), 'bundle.json'), 'BUNDLE_MANIFEST_INVALID');
  });
});
