/** Hardening 10: a sha512 reference, a custom profile's templates, --skip-check compose. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile, templatesDirFor } from '../../../src/bundle/profile.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('a digest reference that cannot be checked', () => {
  it('sha512 is refused before any request (it would be fetched unchecked)', async () => {
    const c = new RegistryClient({ host: 'registry.invalid:5000' });
    await expect(c.manifest('team/app', `sha512:${'a'.repeat(128)}`)).rejects.toMatchObject({ code: 'REF_INVALID' });
    await expect(c.manifest('team/app', 'sha256:short')).rejects.toMatchObject({ code: 'REF_INVALID' });
  });
});

describe('a custom profile given as a path (--profile ./mine.yaml)', () => {
  const yaml = (name: string) =>
    `name: ${name}\nkind: rekor-v2\nimages:\n  - name: rekor\n    ref: ghcr.io/sigstore/rekor-tiles/posix:v2.3.0\ntemplates:\n  - compose.yaml\n  - extra.conf\nports:\n  https: 3443\n`;

  it('without its templates: a usage error naming where they must be, not an internal error', async () => {
    const dir = tempDir('profile-');
    mkdirSync(path.join(dir, 'bundles'));
    writeFileSync(path.join(dir, 'bundles', 'mine.yaml'), yaml('mine'));
    const p = await loadProfile(path.join(dir, 'bundles', 'mine.yaml'));
    expect(() => templatesDirFor(p)).toThrow(
      expect.objectContaining({
        code: 'PROFILE_TEMPLATES_MISSING',
        message: expect.stringContaining(path.join(dir, 'templates', 'mine')),
      }),
    );
  });

  it('with its templates beside it: found there; one listed but absent is named', async () => {
    const dir = tempDir('profile-');
    mkdirSync(path.join(dir, 'bundles'));
    mkdirSync(path.join(dir, 'templates', 'mine'), { recursive: true });
    writeFileSync(path.join(dir, 'bundles', 'mine.yaml'), yaml('mine'));
    writeFileSync(path.join(dir, 'templates', 'mine', 'compose.yaml'), 'services: {}\n');
    const p = await loadProfile(path.join(dir, 'bundles', 'mine.yaml'));
    expect(() => templatesDirFor(p)).toThrow(
      expect.objectContaining({ code: 'PROFILE_TEMPLATES_MISSING', message: expect.stringContaining('extra.conf') }),
    );
    writeFileSync(path.join(dir, 'templates', 'mine', 'extra.conf'), '#\n');
    expect(templatesDirFor(p)).toBe(path.join(dir, 'templates', 'mine'));
  });

  it('a template name with a directory or .. is refused when the profile is read', async () => {
    const dir = tempDir('profile-');
    for (const bad of ['../../etc/passwd', 'sub/compose.yaml', '..']) {
      writeFileSync(path.join(dir, 'p.yaml'), yaml('mine').replace('  - extra.conf', `  - ${JSON.stringify(bad)}`));
      await expect(loadProfile(path.join(dir, 'p.yaml'))).rejects.toMatchObject({ code: 'PROFILE_INVALID' });
    }
  });
});

describe('time of check, time of use (hardening 1)', () => {
  it('a template swapped after verification is refused when it is read for use, naming it', async () => {
    const { syntheticBundle, testKey } = await import('../../helpers/synthetic-bundle.js');
    const { verifyBundleDir } = await import('../../../src/bundle/verify-dir.js');
    const dir = tempDir('toctou-');
    const key = testKey(dir, 'k');
    const b = syntheticBundle(path.join(dir, 'bundle'), key.privateKey);
    const verified = await verifyBundleDir(b.dir, [{ file: key.pubFile, key: key.publicKey }]);
    expect(await verified.readFile('templates/rekor-v2/compose.yaml')).toEqual(
      b.files['templates/rekor-v2/compose.yaml'],
    );
    // Whoever can write to the bundle directory swaps the template for a privileged one.
    const evil = Buffer.alloc(b.files['templates/rekor-v2/compose.yaml']!.length, 0x20);
    evil.write('services: {x: {privileged: true, volumes: ["/:/host"]}}\n');
    writeFileSync(path.join(b.dir, 'templates/rekor-v2/compose.yaml'), evil);
    await expect(verified.readFile('templates/rekor-v2/compose.yaml')).rejects.toMatchObject({
      code: 'BUNDLE_FILE_DIGEST_MISMATCH',
      message: expect.stringContaining('templates/rekor-v2/compose.yaml changed after verification'),
    });
    await expect(verified.readFile('not/listed.yaml')).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING' });
  });
});
