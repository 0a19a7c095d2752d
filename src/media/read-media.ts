/**
 * Verifies packed media, and optionally unpacks it, in one streaming pass:
 *   1. the transfer index's signature (nothing else is read until it holds);
 *   2. every chunk: present, its size, no strays (cheap, before any hashing);
 *   3. the chunks joined as one stream, each byte hashed once: bundle.json against the index, its
 *      signature, then every entry against the signed manifest — its header byte for byte, its
 *      content's SHA-256 (files spread over two cores), zero padding, the end marker. Chunk hashes
 *      are computed only when something failed, to name the damaged chunk.
 * Unpacking writes into a staging directory that becomes the bundle only when everything verified;
 * a failed run leaves nothing in the target, and `resume` keeps what was verified.
 * Every fault is collected and reported at once.
 */
import { createHash } from 'node:crypto';
import { WorkerHasher } from '../util/hash-worker.js';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AggregateAirgapError, AirgapError, FaultList, type ErrorCode } from '../errors.js';
import { BundleLayout } from '../bundle/layout.js';
import type { BundleFile, BundleManifest } from '../bundle/manifest.js';
import { verifyDetachedWithAnyKey } from '../bundle/signing.js';
import { trustManifestBytes, type TrustedKeys } from '../bundle/trusted-manifest.js';
import { verifyBundleDir } from '../bundle/verify-dir.js';
import { hashFile } from '../oci/digest.js';
import { canonicalJson } from '../util/canonical-json.js';
import { AtomicFile, fsyncDir, writeFileAtomic } from '../util/atomic-file.js';
import { safeFilePath } from '../util/safe-path.js';
import { readRegularFile, SMALL_JSON_LIMIT } from '../util/bounded-read.js';
import type { Progress } from '../util/progress.js';
import { checkEntry } from './entry-policy.js';
import { fastVerify } from './fast-verify.js';
import { parseTar, tarFileHeader, type TarEntrySink } from '../util/tar.js';
import { CHUNK_NAME_RE, parseIndex, TRANSFER_INDEX, TRANSFER_INDEX_SIG, type TransferIndex } from './transfer-index.js';

export interface ReadMediaOptions {
  mediaDir: string;
  keys: TrustedKeys;
  progress: Progress;
  /** Unpack into this directory (created; must be empty, but for a resumed unpack's staging). */
  unpackTo?: string;
  resume?: boolean;
}

export interface ReadMediaResult {
  index: TransferIndex;
  manifest: BundleManifest;
  signedBy: string;
  chunksVerified: number;
  filesWritten: number;
  filesSkipped: number;
  unpackedTo?: string;
}

const STAGING = '.rekor-airgap-unpack';
const STATE = 'state.json';

interface UnpackState {
  indexSha256: string;
  files: Record<string, string>;
}

async function readSmall(file: string, code: ErrorCode, what: string): Promise<Buffer> {
  return readRegularFile(file, SMALL_JSON_LIMIT, code, what);
}

export async function readMedia(opts: ReadMediaOptions): Promise<ReadMediaResult> {
  const dir = path.resolve(opts.mediaDir);
  // 1. The index, trusted before anything else is read.
  const indexText = await readSmall(path.join(dir, TRANSFER_INDEX), 'MEDIA_INDEX_MISSING', 'transfer index');
  const indexSig = (await readSmall(path.join(dir, TRANSFER_INDEX_SIG), 'MEDIA_INDEX_SIGNATURE_MISSING', 'transfer index signature')).toString('utf8');
  const signedBy = verifyDetachedWithAnyKey(indexText, indexSig, opts.keys, path.join(dir, TRANSFER_INDEX));
  const index = parseIndex(indexText.toString('utf8'), path.join(dir, TRANSFER_INDEX));
  const indexSha256 = createHash('sha256').update(indexText).digest('hex');

  // 2. Structure: every chunk present with its size, nothing extra.
  const faults = new FaultList();
  const whole = new Set<number>();
  for (const c of index.chunks) {
    const st = await fsp.lstat(path.join(dir, c.name)).catch(() => undefined);
    if (st && !st.isFile()) faults.push(new AirgapError('MEDIA_UNSAFE_ENTRY', `chunk ${c.index} (${c.name}) is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; refused`));
    else if (!st) faults.push(new AirgapError('MEDIA_CHUNK_MISSING', `chunk ${c.index} missing: ${c.name}`));
    else if (st.size !== c.size) faults.push(new AirgapError('MEDIA_CHUNK_SIZE_MISMATCH', `chunk ${c.index} (${c.name}): size ${st.size} expected ${c.size}${st.size < c.size ? ' (truncated)' : ''}`));
    else whole.add(c.index);
  }
  const names = new Set(index.chunks.map((c) => c.name));
  for (const n of await fsp.readdir(dir)) {
    if (CHUNK_NAME_RE.test(n) && !names.has(n)) faults.push(new AirgapError('MEDIA_CHUNK_EXTRA', `${n}: not listed in the transfer index`));
  }
  const structural = faults.length > 0;

  // Staging for unpack.
  let staging: string | undefined;
  let state: UnpackState = { indexSha256, files: {} };
  let target: string | undefined;
  if (opts.unpackTo) {
    // The operator's --to may itself be reached through a link; below it, nothing is followed.
    await fsp.mkdir(opts.unpackTo, { recursive: true });
    target = await fsp.realpath(opts.unpackTo);
    staging = path.join(target, STAGING);
    if ((await fsp.lstat(staging).catch(() => undefined))?.isSymbolicLink()) {
      throw new AirgapError('MEDIA_UNSAFE_PATH', `${staging} is a symbolic link; remove it (unpack never writes through a link)`);
    }
    const others = (await fsp.readdir(target)).filter((n) => n !== STAGING);
    if (others.length) throw new AirgapError('USAGE_OUT_NOT_EMPTY', `${target} is not empty (${others.slice(0, 3).join(', ')}); unpack writes to an empty directory`);
    let resumed = false;
    if (opts.resume) {
      try {
        const prev = JSON.parse(await fsp.readFile(path.join(staging, STATE), 'utf8')) as UnpackState;
        if (prev.indexSha256 === indexSha256) { state = prev; resumed = true; }
        else opts.progress.warn('the transfer index changed since the interrupted unpack; starting over');
      } catch { /* nothing to resume */ }
    }
    if (!resumed) await fsp.rm(staging, { recursive: true, force: true });
    // A staging path that an earlier run (or someone else) left as a link is never written through.
    await fsp.mkdir(staging, { recursive: true });
    await safeFilePath(staging, `files/${STATE}`);
  }
  const saveState = async () => { if (staging) await writeFileAtomic(path.join(staging, STATE), canonicalJson(state)); };

  // 3. One pass over the chunks, hashing each byte once. Every byte of the archive is a header,
  // a file's content, padding or the end marker: headers are compared with the ones the signed
  // manifest implies, contents are hashed against it (files spread over two cores), padding and
  // the end must be zero, and the chunk sizes are the signed index's. So the chunks are verified
  // completely without hashing them; their own hashes are computed only to name a damaged chunk.
  let chunksVerified = 0;
  const present = index.chunks.filter((c) => whole.has(c.index));
  const total = present.reduce((a, c) => a + c.size, 0);
  opts.progress.startBytes(target ? 'verifying and unpacking' : 'verifying', total);
  const hasher = new WorkerHasher();
  async function* joined(): AsyncGenerator<Buffer> {
    for (const c of present) {
      for await (const b of createReadStream(path.join(dir, c.name), { highWaterMark: 1024 * 1024 })) {
        opts.progress.addBytes((b as Buffer).length);
        yield b as Buffer;
      }
    }
  }
  // Bytes given to each core: a file goes to the one with less work queued.
  let onMain = 0;
  let onWorker = 0;
  const mtime = Math.floor(Date.parse(index.bundle.createdAt) / 1000) || 0;
  const sameHeader = (raw: Buffer, name: string, size: number) =>
    raw.equals(tarFileHeader(name, size, 0o644, mtime)) || raw.equals(tarFileHeader(name, size, 0o755, mtime));

  let manifest: BundleManifest | undefined;
  let manifestText: Buffer | undefined;
  let signatureText: Buffer | undefined;
  let filesWritten = 0;
  let filesSkipped = 0;
  try {
    // Verify only, and the medium is whole: the fast path (each byte read once, on both cores).
    // Any doubt, and the thorough pass below runs and names every fault.
    if (!structural && !target) {
      const fast = await fastVerify(dir, index, opts.keys, hasher, (n) => opts.progress.addBytes(n));
      if (fast) {
        opts.progress.endBytes();
        return { index, manifest: fast.manifest, signedBy, chunksVerified: present.length, filesWritten: 0, filesSkipped: 0 };
      }
      opts.progress.startBytes('verifying (a fault was found: naming it)', total);
    }
    if (!structural) {
      let manifestBytes: Buffer | undefined;
      let listed = new Map<string, BundleFile>();
      const seen = new Set<string>();
      let position = 0;
      const pendingFileChecks: Array<Promise<void>> = [];
      try {
        await parseTar(joined(), async (h): Promise<TarEntrySink | null> => {
          const pos = position++;
          // The first two entries are the manifest and its signature, checked against the index.
          if (pos === 0 || pos === 1) {
            const want = pos === 0 ? BundleLayout.MANIFEST : BundleLayout.SIGNATURE;
            if (h.path !== want || h.type !== '0' || h.size > 64 * 1024 * 1024 || !sameHeader(h.raw, want, h.size)) {
              throw new AirgapError('MEDIA_MANIFEST_MISSING', `archive entry ${pos} is ${JSON.stringify(h.path)}, expected ${want} with the header bundle pack writes`);
            }
            const parts: Buffer[] = [];
            return {
              write: (b) => { parts.push(Buffer.from(b)); },
              end: () => {
                const bytes = Buffer.concat(parts);
                if (pos === 0) {
                  const got = createHash('sha256').update(bytes).digest('hex');
                  if (got !== index.bundle.manifestSha256) throw new AirgapError('MEDIA_MANIFEST_MISMATCH', `bundle.json in the archive (sha256 ${got}) is not the one the signed index names (${index.bundle.manifestSha256})`);
                  manifestBytes = bytes;
                } else {
                  const trusted = trustManifestBytes(manifestBytes!, bytes.toString('utf8'), opts.keys, 'bundle.json in the archive');
                  manifest = trusted.manifest;
                  manifestText = manifestBytes;
                  signatureText = bytes;
                  listed = new Map(manifest.files.map((f) => [f.path, f]));
                }
              },
            };
          }
          const verdict = checkEntry(h, listed, seen);
          if (verdict instanceof AirgapError) {
            faults.push(verdict);
            return null;
          }
          const f = verdict;
          if (!sameHeader(h.raw, f.path, f.size)) {
            faults.push(new AirgapError('MEDIA_UNSAFE_ENTRY', `${f.path}: its tar header is not the one bundle pack writes for it`));
            return null;
          }
          const dest = staging ? await safeFilePath(path.join(staging, 'files'), f.path) : undefined;
          // A file staged by an earlier run is kept only if its bytes still hash to the manifest's.
          const skipWrite = dest !== undefined && state.files[f.path] === f.sha256
            && (await fsp.lstat(dest).then((s) => s.isFile() && s.size === f.size, () => false))
            && (await hashFile(dest).then((x) => x.sha256 === f.sha256, () => false));
          const out = dest && !skipWrite ? await AtomicFile.open(dest, { mode: h.mode & 0o111 ? 0o755 : 0o644, diskFull: 'MEDIA_WRITE_DISK_FULL' }) : undefined;
          const useWorker = onWorker < onMain;
          if (useWorker) onWorker += f.size; else onMain += f.size;
          const local = useWorker ? undefined : createHash('sha256');
          const remote = useWorker ? hasher.start() : undefined;
          const settle = async (got: string) => {
            if (got !== f.sha256) {
              faults.push(new AirgapError('MEDIA_FILE_DIGEST_MISMATCH', `${f.path}: sha256 mismatch, expected ${f.sha256}, got ${got}`));
              await out?.abort();
              return;
            }
            if (skipWrite) { filesSkipped++; return; }
            if (out) {
              await out.commit();
              state.files[f.path] = f.sha256;
              filesWritten++;
              if (filesWritten % 50 === 0) await saveState();
            }
          };
          return {
            write: async (b) => {
              if (local) local.update(b); else await remote!.update(b);
              if (out) await out.write(b);
            },
            end: async () => {
              if (local) await settle(local.digest('hex'));
              // The worker's answer arrives later; the parse goes on meanwhile.
              else pendingFileChecks.push(remote!.digest().then(settle));
            },
          };
        }, { strict: true });
      } catch (e) {
        faults.push(e instanceof AirgapError ? e : new AirgapError('MEDIA_TAR_CORRUPT', `archive unreadable: ${(e as Error).message}`));
      }
      await Promise.all(pendingFileChecks);
      if (manifest) {
        for (const f of manifest.files) if (!seen.has(f.path)) faults.push(new AirgapError('MEDIA_FILE_MISSING', `${f.path}: listed in bundle.json but not in the archive`));
      }
    }
    if (faults.length === 0 && manifest) {
      chunksVerified = present.length;
    } else {
      // Something is wrong: hash every present chunk, on both cores, to name the damaged ones.
      const check = async (c: (typeof present)[number], useWorker: boolean) => {
        let got: string;
        if (useWorker) {
          const h = hasher.start();
          for await (const b of createReadStream(path.join(dir, c.name), { highWaterMark: 1024 * 1024 })) await h.update(b as Buffer);
          got = await h.digest();
        } else {
          got = (await hashFile(path.join(dir, c.name))).sha256;
        }
        if (got !== c.sha256) faults.push(new AirgapError('MEDIA_CHUNK_DIGEST_MISMATCH', `chunk ${c.index} (${c.name}): sha256 mismatch, expected ${c.sha256}, got ${got}`));
        else chunksVerified++;
      };
      for (let i = 0; i < present.length; i += 2) {
        await Promise.all(present.slice(i, i + 2).map((c, k) => check(c, k === 1)));
      }
    }
  } finally {
    await hasher.close();
  }
  faults.prioritize((f) => f.code === 'MEDIA_CHUNK_DIGEST_MISMATCH');
  opts.progress.endBytes();
  await saveState();

  if (faults.length || !manifest) {
    const incomplete = faults.some((f) => f.code === 'MEDIA_CHUNK_MISSING' || f.code === 'MEDIA_CHUNK_SIZE_MISMATCH');
    if (!manifest && !faults.length) faults.push(new AirgapError('MEDIA_MANIFEST_MISSING', 'the archive holds no bundle.json'));
    throw new AggregateAirgapError(incomplete ? 'MEDIA_INCOMPLETE' : 'MEDIA_VERIFY_FAILED',
      `${dir} failed verification (${faults.length} faults)${target ? `; nothing was unpacked into ${target}` : ''}:`, faults);
  }

  let unpackedTo: string | undefined;
  if (target && staging) {
    // Commit: the staged files become the bundle, then the manifest and its signature.
    const dirs = new Set<string>([target]);
    for (const f of manifest.files) {
      const from = await safeFilePath(path.join(staging, 'files'), f.path);
      const to = await safeFilePath(target, f.path);
      await fsp.rename(from, to);
      dirs.add(path.dirname(to));
    }
    for (const d of dirs) await fsyncDir(d);
    await writeFileAtomic(path.join(target, BundleLayout.SIGNATURE), signatureText!);
    await writeFileAtomic(path.join(target, BundleLayout.MANIFEST), manifestText!);
    await fsp.rm(staging, { recursive: true, force: true });
    // Verified once more where it now lies, before it is called done: what was checked in
    // staging is what the bundle directory holds. If not, nothing of it stays.
    try {
      await verifyBundleDir(target, opts.keys);
    } catch (e) {
      for (const f of [...manifest.files.map((x) => x.path), BundleLayout.MANIFEST, BundleLayout.SIGNATURE]) await fsp.rm(path.join(target, f), { force: true });
      throw e;
    }
    unpackedTo = target;
  }
  return { index, manifest, signedBy, chunksVerified, filesWritten, filesSkipped, ...(unpackedTo ? { unpackedTo } : {}) };
}
