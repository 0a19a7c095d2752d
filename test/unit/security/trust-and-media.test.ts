/**
 * Hardening 4, 8 and 9: what --trust accepts, malleable signatures, links and FIFOs planted on the
 * medium, and bounded reads of what the medium holds.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';

const mkfifoSync = (p: string) => execFileSync('mkfifo', [p]);
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  checkDetached,
  isLowS,
  loadSigningKey,
  loadTrustedKeys,
  parseTrustedKey,
} from '../../../src/bundle/signing.js';
import { signDetached } from '../../../src/bundle/sign-detached.js';
import { parseManifest, releaseOf } from '../../../src/bundle/manifest.js';
import { fc, params, RUNS } from '../../helpers/fuzz.js';
import { copyMedia } from '../../../src/media/copy.js';
import { packBundle } from '../../../src/media/pack.js';
import { readMedia } from '../../../src/media/read-media.js';
import { silentProgress } from '../../../src/util/progress.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { syntheticBundle, testKey } from '../../helpers/synthetic-bundle.js';

const pem = (k: { export(o: object): string | Buffer }, type: string) => k.export({ type, format: 'pem' }).toString();

describe('--trust takes exactly what bundle keygen makes: a P-256 PUBLIC KEY', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  it('accepts a P-256 public key', () => {
    expect(parseTrustedKey(pem(ec.publicKey, 'spki'), 'k.pub').asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });
  it.each([
    [
      'an RSA public key',
      () => pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey, 'spki'),
      'KEY_WRONG_TYPE',
    ],
    ['an Ed25519 public key', () => pem(generateKeyPairSync('ed25519').publicKey, 'spki'), 'KEY_WRONG_TYPE'],
    [
      'a P-384 public key',
      () => pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey, 'spki'),
      'KEY_WRONG_TYPE',
    ],
    ['a private key PEM (its public half would verify)', () => pem(ec.privateKey, 'pkcs8'), 'KEY_INVALID'],
    [
      'a certificate',
      () => {
        const dir = tempDir('cert-');
        writeFileSync(path.join(dir, 'k.pem'), pem(ec.privateKey, 'pkcs8'));
        return execFileSync('openssl', [
          'req',
          '-x509',
          '-key',
          path.join(dir, 'k.pem'),
          '-subj',
          '/CN=x',
          '-days',
          '1',
        ]).toString();
      },
      'KEY_INVALID',
    ],
    ['two keys in one file', () => pem(ec.publicKey, 'spki') + pem(ec.publicKey, 'spki'), 'KEY_INVALID'],
  ])('refuses %s', (_what, make, code) => {
    expect(() => parseTrustedKey(make(), 'k.pub')).toThrow(expect.objectContaining({ code }));
  });
  it('refuses a FIFO or a huge file given as a key, before reading it', async () => {
    const dir = tempDir('trust-');
    mkfifoSync(path.join(dir, 'fifo'));
    writeFileSync(path.join(dir, 'huge'), Buffer.alloc(1024 * 1024));
    await expect(loadTrustedKeys([path.join(dir, 'fifo')])).rejects.toMatchObject({ code: 'KEY_UNREADABLE' });
    await expect(loadTrustedKeys([path.join(dir, 'huge')])).rejects.toMatchObject({ code: 'KEY_UNREADABLE' });
  });
});

describe('key files: --trust and --key are read like every small file (regular, capped, no link)', () => {
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' },
  });

  it('a trusted key reached through a link is refused, naming the link; the file itself loads', async () => {
    const dir = tempDir('keys-');
    writeFileSync(path.join(dir, 'real.pub'), ec.publicKey);
    symlinkSync(path.join(dir, 'real.pub'), path.join(dir, 'link.pub'));
    const e = await expectCodeAsync(() => loadTrustedKeys([path.join(dir, 'link.pub')]), 'KEY_UNREADABLE');
    expect(e.message).toContain(path.join(dir, 'link.pub'));
    expect(e.message).toMatch(/symbolic link/);
    expect((await loadTrustedKeys([path.join(dir, 'real.pub')]))[0]!.file).toBe(path.join(dir, 'real.pub'));
  });

  it('a signing key reached through a link, larger than a key, or not a file is refused before it is decrypted', async () => {
    const dir = tempDir('keys-');
    writeFileSync(path.join(dir, 'real.key'), ec.privateKey);
    symlinkSync(path.join(dir, 'real.key'), path.join(dir, 'link.key'));
    const e = await expectCodeAsync(
      () => loadSigningKey(path.join(dir, 'link.key'), 'correct horse'),
      'KEY_UNREADABLE',
    );
    expect(e.message).toMatch(/symbolic link/);
    // A megabyte of PEM-looking text: refused by its size, never handed to the decrypter.
    writeFileSync(path.join(dir, 'huge.key'), ec.privateKey + ' '.repeat(1024 * 1024));
    await expectCodeAsync(() => loadSigningKey(path.join(dir, 'huge.key'), 'correct horse'), 'KEY_UNREADABLE');
    mkdirSync(path.join(dir, 'dir.key'));
    await expectCodeAsync(() => loadSigningKey(path.join(dir, 'dir.key'), 'correct horse'), 'KEY_UNREADABLE');
    expect((await loadSigningKey(path.join(dir, 'real.key'), 'correct horse')).asymmetricKeyType).toBe('ec');
  });
});

describe('release numbers in bundle.json (rollback protection)', () => {
  it('a profile named like a property of every object ("constructor") has its own release or 0, never an inherited value', () => {
    const m = parseManifest(
      JSON.stringify({
        formatVersion: 1,
        createdAt: 'x',
        tool: { name: 'rekor-airgap', version: '1' },
        platform: 'linux/amd64',
        profiles: ['constructor', 'rekor-v2'],
        releases: { 'rekor-v2': 3 },
        images: [],
        files: [],
      }),
      'bundle.json',
    );
    expect(releaseOf(m, 'constructor')).toBe(0);
    expect(releaseOf(m, 'rekor-v2')).toBe(3);
    expect(releaseOf({ ...m, releases: undefined }, 'rekor-v2')).toBe(0);
  });
});

describe('a high-S ECDSA signature (the malleated twin of a valid one) is refused', () => {
  it('low-S verifies, its high-S twin does not', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('bundle.json bytes');
    const sig = signDetached(data, privateKey);
    expect(checkDetached(data, sig, publicKey)).toBe(true);
    const s = p256.Signature.fromBytes(Buffer.from(sig.trim(), 'base64'), 'der');
    const twin = new p256.Signature(s.r, p256.Point.Fn.ORDER - s.s);
    expect(twin.hasHighS()).toBe(true);
    expect(checkDetached(data, Buffer.from(twin.toBytes('der')).toString('base64'), publicKey)).toBe(false);
  });

  it('isLowS agrees with the curve library on real signatures and their twins, and never throws on random bytes (property)', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        const der = Buffer.from(signDetached(data, privateKey).trim(), 'base64');
        const s = p256.Signature.fromBytes(der, 'der');
        expect(isLowS(der)).toBe(!s.hasHighS());
        const twin = new p256.Signature(s.r, p256.Point.Fn.ORDER - s.s).toBytes('der');
        expect(isLowS(twin)).toBe(false);
      }),
      params(),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        isLowS(b);
      }),
      params(),
    );
  });
});

async function packed(root: string) {
  const key = testKey(root, 'k');
  const b = syntheticBundle(path.join(root, 'bundle'), key.privateKey);
  const media = path.join(root, 'media');
  await packBundle({
    bundleDir: b.dir,
    outDir: media,
    chunkSize: 40_000,
    signingKey: key.privateKey,
    progress: silentProgress,
  });
  return { key, media, keys: [{ file: key.pubFile, key: key.publicKey }] };
}

describe('links planted on the medium (hardening 4)', () => {
  it('pack refuses an output directory holding only a dot file (a planted .tmp- link), and writes through nothing', async () => {
    const root = tempDir('plant-');
    const key = testKey(root, 'k');
    const b = syntheticBundle(path.join(root, 'bundle'), key.privateKey);
    const out = path.join(root, 'out');
    mkdirSync(out);
    const victim = path.join(root, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, path.join(out, '.tmp-bundle.tar.000'));
    await expect(
      packBundle({
        bundleDir: b.dir,
        outDir: out,
        chunkSize: 40_000,
        signingKey: key.privateKey,
        progress: silentProgress,
      }),
    ).rejects.toMatchObject({ code: 'USAGE_OUT_NOT_EMPTY' });
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('copy writes through no link planted at the destination (old temp name or chunk name)', async () => {
    const root = tempDir('plant-');
    const { media, keys } = await packed(root);
    const usb = path.join(root, 'usb');
    mkdirSync(usb);
    const victim = path.join(root, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, path.join(usb, '.partial-bundle.tar.000'));
    symlinkSync(victim, path.join(usb, 'bundle.tar.001'));
    await copyMedia(media, usb, keys, silentProgress);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(path.join(usb, 'bundle.tar.001'))).toEqual(readFileSync(path.join(media, 'bundle.tar.001')));
  });
});

describe('bounded reads of the medium (hardening 8)', () => {
  it('a FIFO where the index should be is refused without blocking', async () => {
    const root = tempDir('bound-');
    const { media, keys } = await packed(root);
    const idx = path.join(media, 'transfer-index.json');
    execFileSync('rm', [idx]);
    mkfifoSync(idx);
    await expect(readMedia({ mediaDir: media, keys, progress: silentProgress })).rejects.toMatchObject({
      code: 'MEDIA_INDEX_MISSING',
      message: expect.stringContaining('not a regular file'),
    });
  });

  it('a symbolic link where a chunk should be is refused and named', async () => {
    const root = tempDir('bound-');
    const { media, keys } = await packed(root);
    const chunk = path.join(media, 'bundle.tar.001');
    const copy = path.join(root, 'elsewhere');
    writeFileSync(copy, readFileSync(chunk));
    execFileSync('rm', [chunk]);
    symlinkSync(copy, chunk);
    await expect(readMedia({ mediaDir: media, keys, progress: silentProgress })).rejects.toMatchObject({
      message: expect.stringContaining('chunk 1 (bundle.tar.001) is a symbolic link'),
    });
  });

  it('an index larger than the cap is refused before it is read', async () => {
    const root = tempDir('bound-');
    const { media, keys } = await packed(root);
    writeFileSync(path.join(media, 'transfer-index.json'), Buffer.alloc(17 * 1024 * 1024, 0x20));
    await expect(readMedia({ mediaDir: media, keys, progress: silentProgress })).rejects.toMatchObject({
      code: 'MEDIA_INDEX_MISSING',
      message: expect.stringContaining('more than the'),
    });
  });

  it('a flood of faults is capped in memory and in the message, with the count of the rest', async () => {
    const { AggregateAirgapError, AirgapError, FaultList } = await import('../../../src/errors.js');
    // A million under `npm run fuzz`; a hundred thousand otherwise (each fault is an Error with a stack).
    const flood = RUNS > 300 ? 1_000_000 : 100_000;
    const faults = new FaultList(1000);
    for (let i = 0; i < flood; i++) faults.push(new AirgapError('MEDIA_UNLISTED_ENTRY', `entry ${i}`));
    expect(faults.kept.length).toBe(1000);
    expect(faults.length).toBe(flood);
    const e = new AggregateAirgapError('MEDIA_VERIFY_FAILED', 'failed:', faults);
    expect(e.message.split('\n').length).toBe(52);
    expect(e.message).toContain(`... and ${flood - 50} more`);
  });
});

describe('rollback protection (hardening 2)', async () => {
  const { checkRelease } = await import('../../../src/install/release-guard.js');
  const { parseManifest } = await import('../../../src/bundle/manifest.js');
  it('a lower release than the highest installed is refused, naming both', () => {
    expect(() => checkRelease('site', 5, 4, false)).toThrow(
      expect.objectContaining({
        code: 'INSTALL_DOWNGRADE_REFUSED',
        message: expect.stringContaining('has run release 5; this bundle is release 4'),
      }),
    );
  });
  it('the same or a higher release installs; --allow-downgrade lets a lower one through and keeps the highest', () => {
    expect(checkRelease('site', 5, 5, false)).toEqual({ highest: 5, downgrade: false });
    expect(checkRelease('site', 5, 7, false)).toEqual({ highest: 7, downgrade: false });
    expect(checkRelease('site', 5, 3, true)).toEqual({ highest: 5, downgrade: true });
  });
  it('the release is part of the signed manifest, and only whole numbers pass', () => {
    const base = {
      formatVersion: 1,
      createdAt: '2026-01-01T00:00:00Z',
      platform: 'linux/amd64',
      profiles: ['rekor-v2'],
      images: [],
      files: [],
    };
    expect(parseManifest(JSON.stringify({ ...base, releases: { 'rekor-v2': 3 } }), 'b.json').releases).toEqual({
      'rekor-v2': 3,
    });
    for (const bad of [-1, 1.5, '2', null]) {
      expect(() => parseManifest(JSON.stringify({ ...base, releases: { 'rekor-v2': bad } }), 'b.json')).toThrow(
        expect.objectContaining({ code: 'BUNDLE_MANIFEST_INVALID' }),
      );
    }
  });
});
