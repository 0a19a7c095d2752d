import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  statSync,
  utimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AggregateAirgapError, type AirgapError } from '../../../src/errors.js';
import { signDetached } from '../../../src/bundle/sign-detached.js';
import { verifyBundleDir } from '../../../src/bundle/verify-dir.js';
import { packBundle } from '../../../src/media/pack.js';
import { readMedia } from '../../../src/media/read-media.js';
import { TAR_END, tarFileHeader, tarPadding } from '../../../src/util/tar.js';
import { serializeIndex, type TransferIndex } from '../../../src/media/transfer-index.js';
import { silentProgress } from '../../../src/util/progress.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { syntheticBundle, testKey, type TestKey } from '../../helpers/synthetic-bundle.js';

const root = tempDir('media-test-');
let n = 0;
let key: TestKey;
let other: TestKey;
let bundle: ReturnType<typeof syntheticBundle>;

const keysOf = (...k: TestKey[]) => k.map((x) => ({ file: x.pubFile, key: x.publicKey }));
const fresh = (name: string) => path.join(root, `${name}-${n++}`);

async function pack(chunkSize: number): Promise<string> {
  const out = fresh('media');
  await packBundle({
    bundleDir: bundle.dir,
    outDir: out,
    chunkSize,
    signingKey: key.privateKey,
    progress: silentProgress,
  });
  return out;
}

async function faultsOf(p: Promise<unknown>): Promise<{ code: string; messages: string[] }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AggregateAirgapError)
      return { code: e.code, messages: e.faults.map((f) => `${f.code}: ${f.message}`) };
    throw e;
  }
  throw new Error('expected a verification failure');
}

function isEmptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).filter((f) => f !== '.rekor-airgap-unpack').length === 0;
}

beforeEach(() => {
  const dir = fresh('keys');
  mkdirSync(dir);
  key = testKey(dir, 'trusted');
  other = testKey(dir, 'other');
  bundle = syntheticBundle(fresh('bundle'), key.privateKey);
});

describe('round trip', () => {
  it('single file: pack, verify, unpack gives back every byte', async () => {
    const media = await pack(Number.MAX_SAFE_INTEGER);
    expect(readdirSync(media).sort()).toEqual(['bundle.tar', 'transfer-index.json', 'transfer-index.json.sig']);
    const to = fresh('out');
    const r = await readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to });
    expect(r.filesWritten).toBe(Object.keys(bundle.files).length);
    for (const [p, bytes] of Object.entries(bundle.files))
      expect(readFileSync(path.join(to, p)).equals(bytes), p).toBe(true);
    await verifyBundleDir(to, keysOf(key));
    expect(existsSync(path.join(to, '.rekor-airgap-unpack'))).toBe(false);
  });

  it('chunked: every chunk but the last has the chunk size, and the same bytes come back', async () => {
    const media = await pack(100_000);
    const index = JSON.parse(readFileSync(path.join(media, 'transfer-index.json'), 'utf8')) as TransferIndex;
    expect(index.chunks.length).toBeGreaterThan(5);
    index.chunks.slice(0, -1).forEach((c) => expect(c.size).toBe(100_000));
    const to = fresh('out');
    await readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to });
    for (const [p, bytes] of Object.entries(bundle.files))
      expect(readFileSync(path.join(to, p)).equals(bytes), p).toBe(true);
    expect(readFileSync(path.join(to, 'install.sh')).length).toBe(120);
  });

  it('is deterministic: packing twice gives identical chunks and index', async () => {
    const a = await pack(100_000);
    const b = await pack(100_000);
    for (const f of readdirSync(a)) {
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(a, f)))
          .digest('hex'),
        f,
      ).toBe(
        createHash('sha256')
          .update(readFileSync(path.join(b, f)))
          .digest('hex'),
      );
    }
  });

  it('accepts an index signed by any of several trusted keys (rotation)', async () => {
    const media = await pack(100_000);
    const r = await readMedia({ mediaDir: media, keys: keysOf(other, key), progress: silentProgress });
    expect(r.signedBy).toBe(key.pubFile);
  });
});

describe('pack checks the bytes it wrote against the signed manifest', () => {
  it('a file changed since signing (one byte, same size, spanning chunks) is refused, and nothing is left', async () => {
    const file = path.join(bundle.dir, 'images/blobs/sha256/aaaa');
    const b = readFileSync(file);
    b[123_456] = b[123_456]! ^ 1;
    writeFileSync(file, b);
    const out = fresh('media');
    await expect(
      packBundle({
        bundleDir: bundle.dir,
        outDir: out,
        chunkSize: 40_000,
        signingKey: key.privateKey,
        progress: silentProgress,
      }),
    ).rejects.toMatchObject({
      code: 'BUNDLE_FILE_DIGEST_MISMATCH',
      message: expect.stringContaining('images/blobs/sha256/aaaa changed since the bundle was signed'),
    });
    expect(readdirSync(out)).toEqual([]);
  });

  it('the index lists the SHA-256 of each chunk as it is on disk', async () => {
    const out = await pack(40_000);
    const index = JSON.parse(readFileSync(path.join(out, 'transfer-index.json'), 'utf8')) as {
      chunks: Array<{ name: string; sha256: string }>;
    };
    expect(index.chunks.length).toBeGreaterThan(10);
    for (const c of index.chunks)
      expect(
        createHash('sha256')
          .update(readFileSync(path.join(out, c.name)))
          .digest('hex'),
      ).toBe(c.sha256);
  });
});

describe('when the media is damaged', () => {
  it('a flipped byte in a chunk names the chunk and the file, and nothing is extracted', async () => {
    const media = await pack(100_000);
    const chunk = path.join(media, 'bundle.tar.002');
    const b = readFileSync(chunk);
    b[5000] = b[5000]! ^ 0xff;
    writeFileSync(chunk, b);
    const to = fresh('out');
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to }));
    expect(f.code).toBe('MEDIA_VERIFY_FAILED');
    expect(f.messages.join('\n')).toMatch(/MEDIA_CHUNK_DIGEST_MISMATCH: chunk 2 \(bundle\.tar\.002\): sha256 mismatch/);
    expect(f.messages.join('\n')).toMatch(/MEDIA_FILE_DIGEST_MISMATCH: images\/blobs\/sha256\//);
    expect(isEmptyOrAbsent(to)).toBe(true);
  });

  it('a truncated chunk is reported as incomplete', async () => {
    const media = await pack(100_000);
    truncateSync(path.join(media, 'bundle.tar.001'), 1234);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.code).toBe('MEDIA_INCOMPLETE');
    expect(f.messages).toContain(
      'MEDIA_CHUNK_SIZE_MISMATCH: chunk 1 (bundle.tar.001): size 1234 expected 100000 (truncated)',
    );
  });

  it('a missing chunk is named, and other faults are reported with it', async () => {
    const media = await pack(100_000);
    rmSync(path.join(media, 'bundle.tar.003'));
    const c = path.join(media, 'bundle.tar.005');
    const b = readFileSync(c);
    b[10] = b[10]! ^ 1;
    writeFileSync(c, b);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.code).toBe('MEDIA_INCOMPLETE');
    expect(f.messages).toContain('MEDIA_CHUNK_MISSING: chunk 3 missing: bundle.tar.003');
    expect(f.messages.join('\n')).toContain('chunk 5 (bundle.tar.005): sha256 mismatch');
  });

  it('swapped chunks are both named', async () => {
    const media = await pack(100_000);
    const a = path.join(media, 'bundle.tar.001');
    const b = path.join(media, 'bundle.tar.002');
    renameSync(a, `${a}.x`);
    renameSync(b, a);
    renameSync(`${a}.x`, b);
    const f = await faultsOf(
      readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: fresh('out') }),
    );
    expect(f.messages.join('\n')).toContain('chunk 1 (bundle.tar.001): sha256 mismatch');
    expect(f.messages.join('\n')).toContain('chunk 2 (bundle.tar.002): sha256 mismatch');
  });

  it('an extra chunk is named', async () => {
    const media = await pack(100_000);
    const index = JSON.parse(readFileSync(path.join(media, 'transfer-index.json'), 'utf8')) as TransferIndex;
    const next = `bundle.tar.${String(index.chunks.length).padStart(3, '0')}`;
    writeFileSync(path.join(media, next), 'stray');
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.messages).toContain(`MEDIA_CHUNK_EXTRA: ${next}: not listed in the transfer index`);
  });

  it('a wrong trusted key fails on the signature, before any chunk is read', async () => {
    const media = await pack(100_000);
    for (const c of readdirSync(media).filter((x) => x.startsWith('bundle.tar'))) rmSync(path.join(media, c));
    await expectCodeAsync(
      () => readMedia({ mediaDir: media, keys: keysOf(other), progress: silentProgress }),
      'SIGNATURE_INVALID',
    );
  });

  it('an index re-signed by another key is refused', async () => {
    const media = await pack(100_000);
    const text = readFileSync(path.join(media, 'transfer-index.json'));
    writeFileSync(path.join(media, 'transfer-index.json.sig'), signDetached(text, other.privateKey));
    await expectCodeAsync(
      () => readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }),
      'SIGNATURE_INVALID',
    );
  });

  it('a changed index (a chunk hash rewritten) no longer matches its signature', async () => {
    const media = await pack(100_000);
    const index = JSON.parse(readFileSync(path.join(media, 'transfer-index.json'), 'utf8')) as TransferIndex;
    index.chunks[0]!.sha256 = '0'.repeat(64);
    writeFileSync(path.join(media, 'transfer-index.json'), serializeIndex(index));
    await expectCodeAsync(
      () => readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }),
      'SIGNATURE_INVALID',
    );
  });
});

/** A tar with the real bundle.json first, then whatever entries a test wants, signed as media. */
function craftMedia(
  extra: Array<{ path: string; type?: string; body?: Buffer; size?: number; linkname?: string }>,
): string {
  const parts: Buffer[] = [];
  const add = (p: string, body: Buffer, type = '0', linkname = '', size = body.length) => {
    const h = tarFileHeader(p, size, 0o644, 0);
    if (type !== '0' || linkname) {
      h.write(type, 156, 1, 'ascii');
      h.write(linkname, 157, 100, 'utf8');
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of h) sum += x;
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    }
    parts.push(h, body, tarPadding(body.length));
  };
  const manifestText = readFileSync(path.join(bundle.dir, 'bundle.json'));
  add('bundle.json', manifestText);
  add('bundle.json.sig', readFileSync(path.join(bundle.dir, 'bundle.json.sig')));
  for (const [p, b] of Object.entries(bundle.files)) add(p, b);
  for (const e of extra) add(e.path, e.body ?? Buffer.alloc(0), e.type ?? '0', e.linkname ?? '');
  parts.push(TAR_END);
  const tar = Buffer.concat(parts);
  const media = fresh('crafted');
  mkdirSync(media);
  writeFileSync(path.join(media, 'bundle.tar'), tar);
  const index: TransferIndex = {
    formatVersion: 1,
    kind: 'rekor-airgap-transfer',
    archive: { name: 'bundle.tar', size: tar.length },
    chunkSize: tar.length,
    chunks: [
      { index: 0, name: 'bundle.tar', size: tar.length, sha256: createHash('sha256').update(tar).digest('hex') },
    ],
    bundle: {
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
      manifestSize: manifestText.length,
      createdAt: '',
      profiles: [],
    },
  };
  const text = serializeIndex(index);
  writeFileSync(path.join(media, 'transfer-index.json'), text);
  writeFileSync(path.join(media, 'transfer-index.json.sig'), signDetached(Buffer.from(text), key.privateKey));
  return media;
}

/** Every entry under dir (relative path → kind), links not followed. */
function walkAll(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const st = lstatSync(full);
    const kind = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'special';
    out.set(path.relative(base, full), kind);
    if (kind === 'dir') walkAll(full, base, out);
  }
  return out;
}

describe('when the archive holds unsafe entries (even under a valid signature)', () => {
  const HOSTILE = Buffer.from('HOSTILE-ENTRY-BODY\n');
  // The absolute path points into the test's own directory, so a write there would be seen.
  const cases: Array<[string, (parent: string) => Parameters<typeof craftMedia>[0], string, string]> = [
    ['path traversal', () => [{ path: '../escaped', body: HOSTILE }], 'MEDIA_UNSAFE_PATH', 'escaped'],
    [
      'deeper path traversal',
      () => [{ path: 'images/../../escaped2', body: HOSTILE }],
      'MEDIA_UNSAFE_PATH',
      'escaped2',
    ],
    [
      'an absolute path',
      (parent) => [{ path: `${parent}/absolute-escaped`, body: HOSTILE }],
      'MEDIA_UNSAFE_PATH',
      'absolute-escaped',
    ],
    [
      'a symbolic link out of the bundle',
      () => [{ path: 'images/evil', type: '2', linkname: '/etc/passwd' }],
      'MEDIA_UNSAFE_ENTRY',
      'evil',
    ],
    ['a hard link', () => [{ path: 'images/hard', type: '1', linkname: 'install.sh' }], 'MEDIA_UNSAFE_ENTRY', 'hard'],
    ['a character device', () => [{ path: 'images/dev', type: '3' }], 'MEDIA_UNSAFE_ENTRY', 'dev'],
    ['a FIFO', () => [{ path: 'images/fifo', type: '6' }], 'MEDIA_UNSAFE_ENTRY', 'fifo'],
    ['a duplicate entry', () => [{ path: 'install.sh', body: HOSTILE }], 'MEDIA_DUPLICATE_ENTRY', '(none)'],
    [
      'a file the manifest does not list',
      () => [{ path: 'images/extra', body: HOSTILE }],
      'MEDIA_UNLISTED_ENTRY',
      'extra',
    ],
  ];
  for (const [what, extra, code, name] of cases) {
    it(`${what} is named (${code}); nothing is extracted, in the staging directory or anywhere beside --to`, async () => {
      const parent = fresh('parent');
      mkdirSync(parent);
      const media = craftMedia(extra(parent));
      const to = path.join(parent, 'out');
      const f = await faultsOf(
        readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to }),
      );
      expect(
        f.messages.some((m) => m.startsWith(code)),
        f.messages.join('\n'),
      ).toBe(true);
      // Nothing was committed into --to.
      expect(isEmptyOrAbsent(to)).toBe(true);
      // The whole parent of --to, staging included: only --to and what lies under it; no link,
      // device or FIFO; no file named after the hostile entry; no file holding its bytes.
      const all = walkAll(parent);
      for (const [rel, kind] of all) {
        expect(rel === 'out' || rel.startsWith(`out${path.sep}`), `${rel} was written beside --to`).toBe(true);
        expect(kind === 'file' || kind === 'dir', `${rel} is a ${kind}`).toBe(true);
        expect(path.basename(rel), `${rel} is the hostile entry`).not.toBe(name);
        if (kind === 'file')
          expect(readFileSync(path.join(parent, rel)).includes(HOSTILE), `${rel} holds the hostile bytes`).toBe(false);
      }
      // The staging directory was looked at (the legitimate files were staged there).
      expect([...all.keys()].some((rel) => rel.includes('.rekor-airgap-unpack'))).toBe(true);
    });
  }

  it('a staging directory that is a symbolic link is never written through', async () => {
    const parent = fresh('parent');
    mkdirSync(parent);
    const elsewhere = path.join(parent, 'elsewhere');
    mkdirSync(elsewhere);
    const to = path.join(parent, 'out');
    mkdirSync(to);
    symlinkSync(elsewhere, path.join(to, '.rekor-airgap-unpack'));
    const media = await pack(10_000_000);
    const e = await readMedia({
      mediaDir: media,
      keys: keysOf(key),
      progress: silentProgress,
      unpackTo: to,
      resume: true,
    }).then(
      () => undefined,
      (x: AirgapError) => x,
    );
    expect(e?.code).toBe('MEDIA_UNSAFE_PATH');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a staged directory replaced by a link is refused at the moment of writing', async () => {
    const parent = fresh('parent');
    mkdirSync(parent);
    const elsewhere = path.join(parent, 'elsewhere');
    mkdirSync(elsewhere);
    const to = path.join(parent, 'out');
    const media = await pack(10_000_000);
    // A resumable staging tree (its state names this index) in which a directory became a link.
    const staging = path.join(to, '.rekor-airgap-unpack');
    mkdirSync(path.join(staging, 'files'), { recursive: true });
    const indexSha256 = createHash('sha256')
      .update(readFileSync(path.join(media, 'transfer-index.json')))
      .digest('hex');
    writeFileSync(path.join(staging, 'state.json'), JSON.stringify({ indexSha256, chunks: {}, files: {} }));
    symlinkSync(elsewhere, path.join(staging, 'files', 'images'));
    const f = await faultsOf(
      readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to, resume: true }),
    );
    expect(f.messages.join('\n')).toMatch(
      /MEDIA_UNSAFE_PATH: refusing to write "images\/[^"]+" under .*: .*images is a symbolic link/,
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(isEmptyOrAbsent(to)).toBe(true);
  });

  it('an entry whose size disagrees with the manifest is named', async () => {
    const files = bundle.files;
    const p = 'install.sh';
    const saved = files[p]!;
    files[p] = Buffer.concat([saved, Buffer.from('extra')]);
    const media = craftMedia([]);
    files[p] = saved;
    const f = await faultsOf(
      readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: fresh('out') }),
    );
    expect(f.messages.join('\n')).toContain('MEDIA_SIZE_MISMATCH: install.sh: size 125 expected 120');
  });
});

/** The medium's chunks as one buffer, and a way to write an edited one back over them. */
function joinedChunks(media: string): { bytes: Buffer; writeBack(b: Buffer): void } {
  const names = readdirSync(media)
    .filter((f) => f.startsWith('bundle.tar'))
    .sort();
  const parts = names.map((f) => readFileSync(path.join(media, f)));
  return {
    bytes: Buffer.concat(parts),
    writeBack: (b) => {
      let off = 0;
      names.forEach((f, i) => {
        writeFileSync(path.join(media, f), b.subarray(off, off + parts[i]!.length));
        off += parts[i]!.length;
      });
    },
  };
}

/** Offset of the tar header of `name` in the joined archive. */
function headerAt(bytes: Buffer, name: string): number {
  for (let off = 0; off < bytes.length; off += 512)
    if (bytes.toString('utf8', off, off + name.length) === name && bytes[off + name.length] === 0) return off;
  throw new Error(`no header for ${name}`);
}

describe('every byte of the archive is accounted for, though chunks are not hashed on the good path', () => {
  it('a good medium: every chunk counts as verified', async () => {
    const media = await pack(100_000);
    const r = await readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress });
    expect(r.chunksVerified).toBe(readdirSync(media).filter((f) => f.startsWith('bundle.tar.')).length);
  });

  it('a header field the parser ignores (owner uid), changed with a valid checksum, is caught and its chunk named', async () => {
    const media = await pack(100_000);
    const j = joinedChunks(media);
    const off = headerAt(j.bytes, 'install.sh');
    j.bytes.write('0001750\0', off + 108, 8, 'ascii');
    j.bytes.fill(0x20, off + 148, off + 156);
    let sum = 0;
    for (let i = off; i < off + 512; i++) sum += j.bytes[i]!;
    j.bytes.write(sum.toString(8).padStart(6, '0') + '\0 ', off + 148, 8, 'ascii');
    j.writeBack(j.bytes);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.messages.join('\n')).toContain('install.sh: its tar header is not the one bundle pack writes for it');
    expect(f.messages.join('\n')).toMatch(/chunk \d+ \(bundle\.tar\.\d{3}\): sha256 mismatch/);
  });

  it('a byte in the padding after a file is caught', async () => {
    const media = await pack(100_000);
    const j = joinedChunks(media);
    const off = headerAt(j.bytes, 'install.sh');
    j.bytes[off + 512 + 120 + 5] = 0x41; // install.sh is 120 bytes: its padding follows
    j.writeBack(j.bytes);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.messages.join('\n')).toContain('the padding after "install.sh" is not zero');
  });

  it('a byte after the end-of-archive marker is caught', async () => {
    const media = await pack(100_000);
    const j = joinedChunks(media);
    j.bytes[j.bytes.length - 3] = 0x01;
    j.writeBack(j.bytes);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    expect(f.messages.join('\n')).toContain('after the end-of-archive marker');
  });
});

describe('when the archive cannot be parsed', () => {
  it('every chunk after the parse failure is still hashed, so a second damaged chunk is named too', async () => {
    const media = await pack(100_000);
    const first = path.join(media, 'bundle.tar.000');
    const b0 = readFileSync(first);
    b0[0] = 0x01; // the first header's name, and so its checksum: the tar parse fails at once
    writeFileSync(first, b0);
    const later = path.join(media, 'bundle.tar.004');
    const b4 = readFileSync(later);
    b4[500] = b4[500]! ^ 0xff;
    writeFileSync(later, b4);
    const f = await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress }));
    const all = f.messages.join('\n');
    expect(all).toContain('chunk 0 (bundle.tar.000): sha256 mismatch');
    expect(all).toContain('chunk 4 (bundle.tar.004): sha256 mismatch');
  });
});

/** Media with chunk 4 damaged, unpacked once (and failing); the good chunk is kept aside. */
async function failedFirstUnpack(): Promise<{ media: string; chunk: string; good: string; to: string }> {
  const media = await pack(100_000);
  const chunk = path.join(media, 'bundle.tar.004');
  const good = path.join(root, `good-${n++}`);
  copyFileSync(chunk, good);
  const b = readFileSync(chunk);
  b[99_000] = b[99_000]! ^ 0xff;
  writeFileSync(chunk, b);
  const to = fresh('out');
  await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to }));
  return { media, chunk, good, to };
}

describe('resume', () => {
  it('after a bad chunk is replaced, a resumed unpack finishes and keeps what was verified', async () => {
    const { media, chunk, good, to } = await failedFirstUnpack();
    expect(isEmptyOrAbsent(to)).toBe(true);
    copyFileSync(good, chunk);
    const r = await readMedia({
      mediaDir: media,
      keys: keysOf(key),
      progress: silentProgress,
      unpackTo: to,
      resume: true,
    });
    expect(r.chunksVerified).toBe(readdirSync(media).filter((f) => f.startsWith('bundle.tar.')).length);
    expect(r.filesSkipped).toBeGreaterThan(0);
    await verifyBundleDir(to, keysOf(key));
  });

  it('a staged file edited in place (same size) between runs is re-hashed, rewritten, and never committed as it was', async () => {
    const { media, chunk, good, to } = await failedFirstUnpack();
    const staged = path.join(to, '.rekor-airgap-unpack', 'files', 'images/blobs/sha256/aaaa');
    const edited = readFileSync(staged);
    edited[10] = edited[10]! ^ 0xff;
    writeFileSync(staged, edited);
    copyFileSync(good, chunk);
    const r = await readMedia({
      mediaDir: media,
      keys: keysOf(key),
      progress: silentProgress,
      unpackTo: to,
      resume: true,
    });
    expect(r.filesWritten).toBeGreaterThan(0);
    expect(readFileSync(path.join(to, 'images/blobs/sha256/aaaa'))).toEqual(bundle.files['images/blobs/sha256/aaaa']);
    await verifyBundleDir(to, keysOf(key));
  });

  it('chunks are hashed again on a resume (an edited chunk with its old size and mtime is caught)', async () => {
    const media = await pack(100_000);
    const to = fresh('out');
    const bad = path.join(media, 'bundle.tar.004');
    const b0 = readFileSync(bad);
    b0[5] = b0[5]! ^ 0xff;
    writeFileSync(bad, b0);
    await faultsOf(readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to }));
    // Another chunk, verified by the first run, is edited keeping size and mtime.
    const other = path.join(media, 'bundle.tar.001');
    const st = statSync(other);
    const b1 = readFileSync(other);
    b1[7] = b1[7]! ^ 0xff;
    writeFileSync(other, b1);
    utimesSync(other, st.atime, st.mtime);
    b0[5] = b0[5]! ^ 0xff;
    writeFileSync(bad, b0);
    const f = await faultsOf(
      readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to, resume: true }),
    );
    expect(f.messages.join('\n')).toContain('chunk 1 (bundle.tar.001): sha256 mismatch');
    expect(isEmptyOrAbsent(to)).toBe(true);
  });
});

describe('when the resume state is damaged', () => {
  /** A failed first unpack whose state.json is then replaced by `damage`; the good chunk back in place. */
  async function damagedState(
    damage: (stateFile: string) => void,
  ): Promise<{ media: string; to: string; staging: string; stateFile: string }> {
    const { media, chunk, good, to } = await failedFirstUnpack();
    const staging = path.join(to, '.rekor-airgap-unpack');
    const stateFile = path.join(staging, 'state.json');
    expect(existsSync(stateFile)).toBe(true);
    rmSync(stateFile);
    damage(stateFile);
    copyFileSync(good, chunk);
    return { media, to, staging, stateFile };
  }
  const resume = (media: string, to: string) =>
    readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to, resume: true });

  it('a state that is not JSON is refused with a code naming the file; nothing staged is removed', async () => {
    const { media, to, staging, stateFile } = await damagedState((f) => writeFileSync(f, '{"indexSha256": "'));
    const staged = readdirSync(path.join(staging, 'files'), { recursive: true }).length;
    const e = await expectCodeAsync(() => resume(media, to), 'MEDIA_RESUME_STATE_INVALID');
    expect(e.message).toContain(stateFile);
    expect(e.message).toContain('without --resume');
    expect(readdirSync(path.join(staging, 'files'), { recursive: true }).length).toBe(staged);
    expect(isEmptyOrAbsent(to)).toBe(true);
  });

  it('a state of the wrong shape is refused with a code naming the field (not read as a damaged archive)', async () => {
    const { media, to, stateFile } = await damagedState(() => undefined);
    const indexSha256 = createHash('sha256')
      .update(readFileSync(path.join(media, 'transfer-index.json')))
      .digest('hex');
    writeFileSync(stateFile, JSON.stringify({ indexSha256, files: null }));
    const e = await expectCodeAsync(() => resume(media, to), 'MEDIA_RESUME_STATE_INVALID');
    expect(e.message).toContain(`the resume state ${stateFile}: files is not an object`);
    writeFileSync(stateFile, JSON.stringify({ indexSha256, files: { 'install.sh': 'not a digest' } }));
    expect((await expectCodeAsync(() => resume(media, to), 'MEDIA_RESUME_STATE_INVALID')).message).toContain(
      'files.install.sh',
    );
  });

  it('a state that cannot be read (a directory in its place) is refused with a code naming the file', async () => {
    const { media, to, stateFile } = await damagedState((f) => mkdirSync(f));
    const e = await expectCodeAsync(() => resume(media, to), 'MEDIA_RESUME_STATE_INVALID');
    expect(e.message).toContain(stateFile);
  });

  it('no state at all: nothing to resume, the unpack starts over and finishes', async () => {
    const { media, to } = await damagedState(() => undefined);
    const r = await resume(media, to);
    expect(r.filesSkipped).toBe(0);
    await verifyBundleDir(to, keysOf(key));
  });
});

describe('an unpacked bundle directory', () => {
  it('verifies, and names a missing, short or unlisted file', async () => {
    await verifyBundleDir(bundle.dir, keysOf(key));
    writeFileSync(path.join(bundle.dir, 'images/index.json'), Buffer.alloc(10));
    rmSync(path.join(bundle.dir, 'install.sh'));
    writeFileSync(path.join(bundle.dir, 'images/blobs/sha256/cccc'), 'x');
    const f = await faultsOf(verifyBundleDir(bundle.dir, keysOf(key)));
    expect(f.messages).toContain('BUNDLE_FILE_SIZE_MISMATCH: images/index.json: size 10 expected 200');
    expect(f.messages).toContain('BUNDLE_FILE_MISSING: install.sh: missing');
    expect(f.messages).toContain(
      'BUNDLE_FILE_UNLISTED: images/blobs/sha256/cccc: not listed in the signed bundle.json',
    );
  });
});

describe('copy to a medium', () => {
  it('copies, reads back, resumes after a break, and replaces a damaged copy', async () => {
    const { copyMedia } = await import('../../../src/media/copy.js');
    const media = await pack(100_000);
    const usb = fresh('usb');
    const first = await copyMedia(media, usb, keysOf(key), silentProgress);
    expect(first.copied.length).toBe(readdirSync(media).length);
    await readMedia({ mediaDir: usb, keys: keysOf(key), progress: silentProgress });
    // a copy that broke off: one chunk short, one missing, the index not yet written
    truncateSync(path.join(usb, 'bundle.tar.001'), 10);
    rmSync(path.join(usb, 'bundle.tar.002'));
    rmSync(path.join(usb, 'transfer-index.json'));
    const again = await copyMedia(media, usb, keysOf(key), silentProgress);
    expect(again.copied.sort()).toEqual(['bundle.tar.001', 'bundle.tar.002', 'transfer-index.json']);
    expect(again.skipped.length).toBeGreaterThan(3);
    await readMedia({ mediaDir: usb, keys: keysOf(key), progress: silentProgress });
  });

  it('refuses media whose index is not signed by a trusted key', async () => {
    const { copyMedia } = await import('../../../src/media/copy.js');
    const media = await pack(100_000);
    await expectCodeAsync(() => copyMedia(media, fresh('usb'), keysOf(other), silentProgress), 'SIGNATURE_INVALID');
  });
});

describe('when a commit was killed midway', () => {
  /**
   * What a kill between the commit's moves leaves: the journal in staging, some files already in
   * the target (with their directories), the rest still staged, maybe the manifest written.
   */
  function interruptCommit(to: string, movedShare: number, withManifest: boolean): void {
    const staging = path.join(to, '.rekor-airgap-unpack');
    const listed = Object.keys(bundle.files).sort();
    mkdirSync(path.join(staging, 'files'), { recursive: true });
    writeFileSync(path.join(staging, 'commit.json'), JSON.stringify(listed));
    for (const rel of listed.slice(Math.floor(listed.length * movedShare))) {
      mkdirSync(path.dirname(path.join(staging, 'files', rel)), { recursive: true });
      renameSync(path.join(to, rel), path.join(staging, 'files', rel));
    }
    if (!withManifest) for (const f of ['bundle.json', 'bundle.json.sig']) rmSync(path.join(to, f));
  }

  for (const [movedShare, withManifest, resume] of [
    [0.5, false, false],
    [0.5, false, true],
    [1, true, false],
    [0, false, true],
  ] as const) {
    it(`a rerun (${resume ? 'with' : 'without'} --resume) undoes it and completes: ${movedShare * 100}% moved${withManifest ? ', the manifest written' : ''}`, async () => {
      const media = await pack(100_000);
      const to = fresh('out');
      await readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to });
      interruptCommit(to, movedShare, withManifest);
      await readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to, resume });
      await verifyBundleDir(to, keysOf(key));
      for (const [p, bytes] of Object.entries(bundle.files))
        expect(readFileSync(path.join(to, p)).equals(bytes), p).toBe(true);
      expect(existsSync(path.join(to, '.rekor-airgap-unpack'))).toBe(false);
    });
  }

  it('a journal naming a path outside the staging layout is refused, and nothing is moved', async () => {
    const media = await pack(100_000);
    const to = fresh('out');
    mkdirSync(path.join(to, '.rekor-airgap-unpack'), { recursive: true });
    writeFileSync(path.join(to, '.rekor-airgap-unpack', 'commit.json'), JSON.stringify(['../escape']));
    await expectCodeAsync(
      () => readMedia({ mediaDir: media, keys: keysOf(key), progress: silentProgress, unpackTo: to }),
      'MEDIA_RESUME_STATE_INVALID',
    );
  });
});
