/**
 * Every JSON document read from a medium, a registry, the engine or a file goes through the one
 * reader of untrusted JSON: its size and nesting are capped before it is parsed. Each case below is
 * a document its parser would otherwise take (the deep or large part is a field it ignores).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/bundle/manifest.js';
import { resolveNodeRuntime } from '../../../src/bundle/node-runtime.js';
import { runCli } from '../../../src/cli/app.js';
import { bufferIo } from '../../../src/cli/output.js';
import { parseSaveManifest, pullViaEngine } from '../../../src/source/engine-source.js';
import { ExitCode } from '../../../src/errors.js';
import { parseIndex } from '../../../src/media/transfer-index.js';
import { OciLayoutWriter } from '../../../src/oci/layout.js';
import { parseImageConfigPlatform, parseImageIndex, parseImageManifest } from '../../../src/oci/manifest-parse.js';
import { parseChartConfig } from '../../../src/registry/pull-chart.js';
import { hostPlatform } from '../../../src/registry/platform.js';
import { tarFileHeader } from '../../../src/util/tar.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { fc, jsonValue, mutatedJson, onlyCoded, params } from '../../helpers/fuzz.js';

const sha = 'a'.repeat(64);
const D = `sha256:${sha}`;
/** 100 levels of arrays: JSON.parse takes it; the reader stops at 64. */
const DEEP = `${'['.repeat(100)}${']'.repeat(100)}`;
/** A valid document with one more field, nested too deep. */
const withDeep = (doc: object) => JSON.stringify(doc).replace(/}$/, `,"x":${DEEP}}`);
/** A valid document padded with whitespace to `bytes`. */
const padded = (doc: object, bytes: number) => JSON.stringify(doc) + ' '.repeat(bytes);

const MANIFEST = {
  formatVersion: 1,
  createdAt: '2026-01-01T00:00:00Z',
  tool: { name: 'rekor-airgap', version: '0.1.0' },
  platform: 'linux/amd64',
  profiles: ['rekor-v2'],
  images: [],
  files: [{ path: 'install.sh', size: 3, sha256: sha }],
};
const INDEX = {
  formatVersion: 1,
  kind: 'rekor-airgap-transfer',
  archive: { name: 'bundle.tar', size: 10 },
  chunkSize: 10,
  chunks: [{ index: 0, name: 'bundle.tar', size: 10, sha256: sha }],
  bundle: { manifestSha256: sha, manifestSize: 5, createdAt: 'x', profiles: ['rekor-v2'] },
};
const OCI_MANIFEST = {
  schemaVersion: 2,
  config: { mediaType: 'c', digest: D, size: 1 },
  layers: [{ mediaType: 'l', digest: D, size: 2 }],
};
const OCI_INDEX = {
  schemaVersion: 2,
  manifests: [
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: D,
      size: 5,
      platform: { os: 'linux', architecture: 'amd64' },
    },
  ],
};

describe("documents nested deeper than the cap are refused with their parser's code, before parsing", () => {
  it.each([
    ['bundle.json', () => parseManifest(withDeep(MANIFEST), 'bundle.json'), 'BUNDLE_MANIFEST_INVALID'],
    ['transfer-index.json', () => parseIndex(withDeep(INDEX), 'transfer-index.json'), 'MEDIA_INDEX_INVALID'],
    [
      'an OCI image manifest',
      () => parseImageManifest(Buffer.from(withDeep(OCI_MANIFEST)), 'manifest'),
      'REGISTRY_BAD_MANIFEST',
    ],
    ['an OCI image index', () => parseImageIndex(Buffer.from(withDeep(OCI_INDEX)), 'index'), 'REGISTRY_BAD_MANIFEST'],
    [
      'an image config',
      () => parseImageConfigPlatform(Buffer.from(withDeep({ os: 'linux', architecture: 'amd64' })), 'config'),
      'REGISTRY_BAD_MANIFEST',
    ],
    [
      'a Helm chart config',
      () => parseChartConfig(Buffer.from(withDeep({ name: 'rekor-tiles', version: '1.2.1' })), 'chart config'),
      'REGISTRY_BAD_MANIFEST',
    ],
    [
      "docker save's manifest.json",
      () => parseSaveManifest(Buffer.from(`[${withDeep({ Config: 'c.json', Layers: ['l.tar'] })}]`), 'img'),
      'ENGINE_SAVE_INVALID',
    ],
  ] as const)('%s', (_what, parse, code) => {
    expect(expectCode(parse, code).message).toMatch(/nests deeper than 64 levels/);
  });

  it('the same documents without the deep field are taken', () => {
    expect(parseManifest(JSON.stringify(MANIFEST), 'bundle.json').files).toHaveLength(1);
    expect(parseIndex(JSON.stringify(INDEX), 'i').chunks).toHaveLength(1);
    expect(parseImageManifest(Buffer.from(JSON.stringify(OCI_MANIFEST)), 'm').layers).toHaveLength(1);
    expect(parseImageIndex(Buffer.from(JSON.stringify(OCI_INDEX)), 'i').manifests).toHaveLength(1);
    expect(parseChartConfig(Buffer.from('{"name":"c","version":"1"}'), 'c')).toEqual({ name: 'c', version: '1' });
    expect(parseSaveManifest(Buffer.from('[{"Config":"c.json","Layers":["l.tar"]}]'), 'img')).toEqual({
      config: 'c.json',
      layers: ['l.tar'],
    });
  });
});

describe('documents larger than their cap are refused before parsing', () => {
  it.each([
    [
      'bundle.json (16 MiB)',
      () => parseManifest(padded(MANIFEST, 16 * 1024 * 1024), 'bundle.json'),
      'BUNDLE_MANIFEST_INVALID',
    ],
    [
      "an OCI manifest (4 MiB, the distribution spec's)",
      () => parseImageManifest(Buffer.from(padded(OCI_MANIFEST, 4 * 1024 * 1024)), 'm'),
      'REGISTRY_BAD_MANIFEST',
    ],
    [
      'a Helm chart config (1 MiB, as it is fetched)',
      () => parseChartConfig(Buffer.from(padded({ name: 'c', version: '1' }, 1024 * 1024)), 'c'),
      'REGISTRY_BAD_MANIFEST',
    ],
    [
      "docker save's manifest.json (1 MiB)",
      () => parseSaveManifest(Buffer.from(padded([{ Config: 'c', Layers: [] }], 1024 * 1024)), 'img'),
      'ENGINE_SAVE_INVALID',
    ],
  ] as const)('%s', (_what, parse, code) => {
    expect(expectCode(parse, code).message).toMatch(/more than the \d+ allowed/);
  });
});

describe("docker save's manifest.json", () => {
  it('any text: two names or ENGINE_SAVE_INVALID (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          jsonValue.map((v) => JSON.stringify(v)),
          mutatedJson([{ Config: 'c.json', Layers: ['a.tar', 'b.tar'] }]),
        ),
        (t) => onlyCoded(() => parseSaveManifest(Buffer.from(t), 'img'), ['ENGINE_SAVE_INVALID']),
      ),
      params(),
    );
  });

  it('one the engine says is huge is refused from its tar header, before a byte of it is kept', async () => {
    const huge = 2 * 1024 * 1024 * 1024;
    const tar = Buffer.concat([tarFileHeader('manifest.json', huge, 0o644, 0), Buffer.alloc(64 * 1024, 0x5b)]);
    const image = {
      inspect: async () => ({ Os: 'linux', Architecture: 'amd64', Id: D }),
      get: async () => Readable.from([tar]),
    };
    const docker = {
      pull: async () => Readable.from([]),
      modem: { followProgress: (_s: unknown, done: (e: Error | null, out: unknown[]) => void) => done(null, []) },
      getImage: () => image,
    } as unknown as Docker;
    const layout = new OciLayoutWriter(path.join(tempDir('save-'), 'images'));
    await layout.init();
    const e = await expectCodeAsync(
      () =>
        pullViaEngine(docker, {
          pullRef: 'x/y:1',
          displayRef: 'x/y:1',
          platform: { os: 'linux', architecture: 'amd64' },
          layout,
        }),
      'ENGINE_SAVE_INVALID',
    );
    expect(e.message).toMatch(/manifest\.json is 2147483648 bytes/);
  });
});

describe("the npm registry's answer for the installer's Node.js runtime", () => {
  let server: http.Server;
  let base = '';
  const answers = new Map<string, string>();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = [...answers].find(([k]) => req.url!.startsWith(k))?.[1];
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  // A platform other than this host's, so the runtime is looked up in the registry.
  const other = { os: 'linux', architecture: hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64' };
  const resolve = (registry: string) =>
    resolveNodeRuntime({ platform: other, npmRegistry: registry, cacheDir: tempDir('node-') });

  it('nested too deep, not JSON, or naming no http(s) tarball: ARTIFACT_UNREACHABLE naming the URL, before any download', async () => {
    answers.set('/deep/', withDeep({ dist: { tarball: `${base}/tarball.tgz`, integrity: 'sha512-AAAA' } }));
    answers.set('/notjson/', '<html>proxy login</html>');
    answers.set('/file/', JSON.stringify({ dist: { tarball: 'file:///etc/passwd', integrity: 'sha512-AAAA' } }));
    answers.set('/nodist/', JSON.stringify({ dist: 'x' }));
    const deep = await expectCodeAsync(() => resolve(`${base}/deep`), 'ARTIFACT_UNREACHABLE');
    expect(deep.message).toMatch(/nests deeper than 64 levels/);
    expect(deep.message).toContain(`${base}/deep/`);
    expect((await expectCodeAsync(() => resolve(`${base}/notjson`), 'ARTIFACT_UNREACHABLE')).message).toMatch(
      /is not JSON/,
    );
    expect((await expectCodeAsync(() => resolve(`${base}/file`), 'ARTIFACT_UNREACHABLE')).message).toMatch(
      /no http\(s\) tarball/,
    );
    await expectCodeAsync(() => resolve(`${base}/nodist`), 'ARTIFACT_UNREACHABLE');
  });
});

describe("doctor's trust directory", () => {
  const doctor = async (dir: string) => {
    const io = bufferIo();
    const code = await runCli(['doctor', '--trust-dir', dir, '--url', 'https://127.0.0.1:1', '--no-write'], io);
    return { code, err: io.stderr() };
  };
  const ROOT = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [] };

  it('a trusted_root.json nested too deep, or too large, is exit 2 naming it, before any check runs', async () => {
    const dir = tempDir('trust-');
    writeFileSync(path.join(dir, 'trusted_root.json'), withDeep(ROOT));
    let r = await doctor(dir);
    expect(r.code, r.err).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/USAGE_UNREADABLE.*trusted_root\.json nests deeper than 64/);
    writeFileSync(path.join(dir, 'trusted_root.json'), padded(ROOT, 17 * 1024 * 1024));
    r = await doctor(dir);
    expect(r.code, r.err).toBe(ExitCode.USAGE);
    expect(r.err).toMatch(/trusted_root\.json .*more than the \d+ allowed/);
  });

  it('a signing_config.json that is there but broken is exit 2 naming it, not a silent guess of the API version', async () => {
    const dir = tempDir('trust-');
    writeFileSync(path.join(dir, 'trusted_root.json'), JSON.stringify(ROOT));
    for (const bad of ['{"rekorTlogUrls": [', `{"x": ${DEEP}}`, '{"rekorTlogUrls": {"majorApiVersion": 1}}']) {
      writeFileSync(path.join(dir, 'signing_config.json'), bad);
      const r = await doctor(dir);
      expect(r.code, r.err).toBe(ExitCode.USAGE);
      expect(r.err).toMatch(/USAGE_UNREADABLE.*signing_config\.json/);
    }
  });

  it('trust files kept as links (a ConfigMap mount) are read', async () => {
    const dir = tempDir('trust-');
    mkdirSync(path.join(dir, '..data'));
    writeFileSync(path.join(dir, '..data', 'trusted_root.json'), withDeep(ROOT));
    symlinkSync('..data/trusted_root.json', path.join(dir, 'trusted_root.json'));
    // Read through the link: its content is what is refused, not the link.
    expect((await doctor(dir)).err).toMatch(/nests deeper than 64/);
  });
});
