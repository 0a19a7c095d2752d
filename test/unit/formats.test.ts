import { describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/registry/auth.js';
import { parsePlatform, selectPlatform } from '../../src/registry/platform.js';
import { formatImageRef, parseImageRef, parseMirrors, resolveSource } from '../../src/ref/image-ref.js';
import { parseSize } from '../../src/media/transfer-index.js';
import { renderTemplate } from '../../src/instance/render.js';
import { chooseProfile, parseManifest } from '../../src/bundle/manifest.js';
import { checkEntry } from '../../src/media/entry-policy.js';
import { exitCodeFor } from '../../src/errors.js';
import { expectCode } from '../helpers/expect-code.js';

describe('image references', () => {
  it('normalises like Docker', () => {
    expect(formatImageRef(parseImageRef('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(formatImageRef(parseImageRef('ghcr.io/sigstore/rekor-tiles/posix:v2.3.0'))).toBe(
      'ghcr.io/sigstore/rekor-tiles/posix:v2.3.0',
    );
    expect(parseImageRef('127.0.0.1:5000/a/b@sha256:' + 'a'.repeat(64)).registry).toBe('127.0.0.1:5000');
    expectCode(() => parseImageRef('Bad/Name'), 'REF_INVALID');
    expectCode(() => parseImageRef('x@sha256:short'), 'REF_INVALID');
  });

  it('sends a reference through its mirror, keeping the repository, with an optional prefix', () => {
    const m = parseMirrors(['ghcr.io=127.0.0.1:5000', 'docker.io=mirror.internal/hub']);
    expect(resolveSource(parseImageRef('ghcr.io/sigstore/rekor/rekor-server:v1.5.4'), m)).toEqual({
      host: '127.0.0.1:5000',
      repository: 'sigstore/rekor/rekor-server',
    });
    expect(resolveSource(parseImageRef('nginx:1'), m)).toEqual({
      host: 'mirror.internal',
      repository: 'hub/library/nginx',
    });
    expect(resolveSource(parseImageRef('quay.io/x/y:1'), m)).toEqual({ host: 'quay.io', repository: 'x/y' });
    expectCode(() => parseMirrors(['ghcr.io']), 'USAGE_BAD_MIRROR');
  });
});

describe('registry auth challenges', () => {
  it('parses a Bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      ),
    ).toEqual({
      scheme: 'Bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Basic realm="x"').scheme).toBe('Basic');
  });
});

describe('platforms', () => {
  const index = {
    schemaVersion: 2 as const,
    manifests: [
      { mediaType: 'm', digest: 'sha256:a', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'm', digest: 'sha256:b', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'm', digest: 'sha256:c', size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  };
  it('picks the wanted one, and names the ones there are when it is missing', () => {
    expect(selectPlatform(index, parsePlatform('linux/arm64'), 'x').digest).toBe('sha256:b');
    expect(selectPlatform(index, parsePlatform('linux/amd64'), 'x').digest).toBe('sha256:a');
    const e = expectCode(() => selectPlatform(index, parsePlatform('linux/s390x'), 'x'), 'REGISTRY_PLATFORM_NOT_FOUND');
    expect(e.message).toContain('linux/amd64, linux/arm64/v8');
    expectCode(() => parsePlatform('linux'), 'USAGE_BAD_PLATFORM');
  });
});

describe('sizes', () => {
  it('understands binary and decimal units', () => {
    expect(parseSize('3900MiB')).toBe(3900 * 1024 ** 2);
    expect(parseSize('4GB')).toBe(4e9);
    expect(parseSize('1048576')).toBe(1048576);
    expectCode(() => parseSize('lots'), 'USAGE_BAD_SIZE');
  });
});

describe('templates', () => {
  it('renders names and dotted names, and names what is missing', () => {
    expect(renderTemplate('image: {{ images.rekor }} on {{port}}', { images: { rekor: 'r:1' }, port: 3443 }, 't')).toBe(
      'image: r:1 on 3443',
    );
    const e = expectCode(() => renderTemplate('{{ nope }}', {}, 'rekor-v2/compose.yaml'), 'INSTALL_TEMPLATE_VARIABLE');
    expect(e.message).toContain('rekor-v2/compose.yaml');
  });
});

describe('the signed manifest refuses unsafe or duplicate paths', () => {
  const base = { formatVersion: 1, createdAt: '', tool: {}, platform: '', profiles: [], images: [] };
  for (const p of ['/etc/passwd', '../x', 'a/../../x', 'a//b', './a']) {
    it(`refuses ${p}`, () => {
      expectCode(
        () =>
          parseManifest(
            JSON.stringify({ ...base, files: [{ path: p, size: 1, sha256: 'a'.repeat(64) }] }),
            'bundle.json',
          ),
        'BUNDLE_MANIFEST_INVALID',
      );
    });
  }
  it('refuses a path listed twice', () => {
    const f = { path: 'a', size: 1, sha256: 'a'.repeat(64) };
    expectCode(
      () => parseManifest(JSON.stringify({ ...base, files: [f, f] }), 'bundle.json'),
      'BUNDLE_MANIFEST_INVALID',
    );
  });
});

describe('the profile an install takes when it names none', () => {
  const base = { formatVersion: 1, createdAt: '', tool: {}, platform: '', images: [], files: [] };
  const read = (m: object) => parseManifest(JSON.stringify({ ...base, ...m }), 'bundle.json');
  it('is the one profile asked for at create, not the companion it carries', () => {
    expect(chooseProfile(read({ profiles: ['rekor-v2', 'witness'], companions: ['witness'] }), undefined)).toBe(
      'rekor-v2',
    );
    expect(chooseProfile(read({ profiles: ['rekor-v2', 'witness'], companions: ['witness'] }), 'witness')).toBe(
      'witness',
    );
  });
  it('is asked for when two profiles were asked for', () => {
    expectCode(
      () => chooseProfile(read({ profiles: ['rekor-v2', 'rekor-v1', 'witness'], companions: ['witness'] }), undefined),
      'USAGE_PROFILE_AMBIGUOUS',
    );
    expectCode(() => chooseProfile(read({ profiles: ['rekor-v2', 'witness'] }), undefined), 'USAGE_PROFILE_AMBIGUOUS');
  });
  it('refuses a companion that is not a profile of the bundle', () => {
    expectCode(() => read({ profiles: ['rekor-v2'], companions: ['witness'] }), 'BUNDLE_MANIFEST_INVALID');
  });
});

describe('archive entry policy', () => {
  const listed = new Map([['images/index.json', { path: 'images/index.json', size: 3, sha256: 'a'.repeat(64) }]]);
  const h = (over: object) => ({
    path: 'images/index.json',
    size: 3,
    mode: 0o644,
    type: '0',
    linkname: '',
    raw: Buffer.alloc(512),
    ...over,
  });
  it('allows a listed regular file of the listed size, once', () => {
    const seen = new Set<string>();
    expect(checkEntry(h({}), listed, seen)).toEqual(listed.get('images/index.json'));
    expect((checkEntry(h({}), listed, seen) as { code: string }).code).toBe('MEDIA_DUPLICATE_ENTRY');
  });
  it('names each kind of unsafe entry', () => {
    expect((checkEntry(h({ type: '2', linkname: '/etc' }), listed, new Set()) as { code: string }).code).toBe(
      'MEDIA_UNSAFE_ENTRY',
    );
    expect((checkEntry(h({ path: '../x' }), listed, new Set()) as { code: string }).code).toBe('MEDIA_UNSAFE_PATH');
    expect((checkEntry(h({ size: 4 }), listed, new Set()) as { code: string }).code).toBe('MEDIA_SIZE_MISMATCH');
    expect((checkEntry(h({ path: 'other' }), listed, new Set()) as { code: string }).code).toBe('MEDIA_UNLISTED_ENTRY');
  });
});

describe('exit codes', () => {
  it('map error domains to the documented codes', () => {
    expect(exitCodeFor('MEDIA_INCOMPLETE')).toBe(4);
    expect(exitCodeFor('MEDIA_CHUNK_DIGEST_MISMATCH')).toBe(3);
    expect(exitCodeFor('REGISTRY_UNAUTHORIZED')).toBe(5);
    expect(exitCodeFor('BUNDLE_LOCK_DRIFT')).toBe(5);
    expect(exitCodeFor('MERKLE_INCLUSION_INVALID')).toBe(12);
    expect(exitCodeFor('NOTE_SIGNATURE_INVALID')).toBe(13);
    expect(exitCodeFor('SMOKE_TLS')).toBe(10);
    expect(exitCodeFor('SMOKE_REJECTED')).toBe(11);
    expect(exitCodeFor('PREFLIGHT_PORTS')).toBe(7);
    // The set is closed: an unknown code does not type-check, and at run time it is a bug (1).
    expect(exitCodeFor('SOMETHING_ELSE' as never)).toBe(1);
  });
});
