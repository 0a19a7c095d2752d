/**
 * The thorough pass over a medium: the chunks joined as one stream, each byte checked once. Every
 * byte of the archive is a header, a file's content, padding or the end marker: the first two
 * entries are bundle.json (its SHA-256 the signed index's) and its signature; every other header is
 * compared with the one the signed manifest implies, every content hashed against it (files spread
 * over two cores), padding and the end marker must be zero (the tar parser's strict mode). When
 * unpacking, each file is staged as it is read and kept only if it hashed right. Every fault is
 * collected in the read's fault list; the pass goes on past a bad file to name the next one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { BundleLayout } from '../bundle/layout.js';
import type { BundleFile } from '../bundle/manifest.js';
import { trustManifestBytes } from '../bundle/trusted-manifest.js';
import { sha256Hex } from '../oci/digest.js';
import { parseTar, type TarEntryHeader, type TarEntrySink } from '../util/tar.js';
import { checkEntry } from './entry-policy.js';
import { MAX_HEAD_ENTRY_SIZE, packHeaderTest, type ArchiveHead, type PackHeaderTest } from './pack-format.js';
import type { MediaRead } from './read-media.js';
import { saveUnpackState, stageFile, type StagedFile } from './unpack-staging.js';

export interface StreamResult {
  /** bundle.json and its signature from the archive's front, when they verified. */
  head?: ArchiveHead;
  filesWritten: number;
  filesSkipped: number;
}

/** Reads the present chunks as one archive, checking every byte; faults go to `ctx.faults`. */
export async function streamVerify(ctx: MediaRead): Promise<StreamResult> {
  const pass = new StreamPass(ctx);
  try {
    await parseTar(joinedChunks(ctx), (h) => pass.onEntry(h), { strict: true });
  } catch (e) {
    ctx.faults.push(
      e instanceof AirgapError
        ? e
        : new AirgapError('MEDIA_TAR_CORRUPT', `archive unreadable: ${(e as Error).message}`),
    );
  }
  return pass.finish();
}

async function* joinedChunks(ctx: MediaRead): AsyncGenerator<Buffer> {
  for (const c of ctx.present) {
    for await (const b of createReadStream(path.join(ctx.dir, c.name), { highWaterMark: 1024 * 1024 })) {
      ctx.progress.addBytes((b as Buffer).length);
      yield b as Buffer;
    }
  }
}

/** A file's content hash, on this thread or on the worker (whose answer arrives later). */
interface EntryHash {
  update(b: Buffer): void | Promise<void>;
  digest(): Promise<string>;
  /** The parse goes on while the worker hashes; the check is awaited at the end of the pass. */
  later: boolean;
}

/** What the parse has seen so far, entry by entry. */
class StreamPass {
  private entries = 0;
  private readonly isPackHeader: PackHeaderTest;
  private manifestBytes: Buffer | undefined;
  private head: ArchiveHead | undefined;
  /** The signed manifest's files by path (empty until the signature verified: every entry is then unlisted). */
  private listed = new Map<string, BundleFile>();
  private readonly seen = new Set<string>();
  private readonly later: Array<Promise<void>> = [];
  /** Bytes given to each core: a file goes to the one with less work queued. */
  private readonly queued = { main: 0, worker: 0 };
  private readonly counts = { written: 0, skipped: 0 };

  constructor(private readonly ctx: MediaRead) {
    this.isPackHeader = packHeaderTest(ctx.index.bundle.createdAt);
  }

  async onEntry(h: TarEntryHeader): Promise<TarEntrySink | null> {
    const pos = this.entries++;
    // The first two entries are the manifest and its signature, checked against the index.
    if (pos === 0 || pos === 1) return this.headEntry(pos, h);
    return this.fileEntry(h);
  }

  /** Waits for the worker's checks; names every listed file the archive did not hold. */
  async finish(): Promise<StreamResult> {
    await Promise.all(this.later);
    if (this.head) {
      for (const f of this.head.manifest.files)
        if (!this.seen.has(f.path))
          this.ctx.faults.push(
            new AirgapError('MEDIA_FILE_MISSING', `${f.path}: listed in bundle.json but not in the archive`),
          );
    }
    return {
      ...(this.head ? { head: this.head } : {}),
      filesWritten: this.counts.written,
      filesSkipped: this.counts.skipped,
    };
  }

  private headEntry(pos: 0 | 1, h: TarEntryHeader): TarEntrySink {
    const want = pos === 0 ? BundleLayout.MANIFEST : BundleLayout.SIGNATURE;
    if (h.path !== want || h.type !== '0' || h.size > MAX_HEAD_ENTRY_SIZE || !this.isPackHeader(h.raw, want, h.size)) {
      throw new AirgapError(
        'MEDIA_MANIFEST_MISSING',
        `archive entry ${pos} is ${JSON.stringify(h.path)}, expected ${want} with the header bundle pack writes`,
      );
    }
    const parts: Buffer[] = [];
    return {
      write: (b) => {
        parts.push(Buffer.from(b));
      },
      end: () => {
        if (pos === 0) this.manifestRead(Buffer.concat(parts));
        else this.signatureRead(Buffer.concat(parts));
      },
    };
  }

  private manifestRead(bytes: Buffer): void {
    const got = sha256Hex(bytes);
    const want = this.ctx.index.bundle.manifestSha256;
    if (got !== want)
      throw new AirgapError(
        'MEDIA_MANIFEST_MISMATCH',
        `bundle.json in the archive (sha256 ${got}) is not the one the signed index names (${want})`,
      );
    this.manifestBytes = bytes;
  }

  private signatureRead(bytes: Buffer): void {
    // Entry 0 ended (or the parse stopped) before this entry began.
    const manifestText = this.manifestBytes!;
    const { manifest } = trustManifestBytes(
      manifestText,
      bytes.toString('utf8'),
      this.ctx.keys,
      'bundle.json in the archive',
    );
    this.head = { manifest, manifestText, signatureText: bytes };
    this.listed = new Map(manifest.files.map((f) => [f.path, f]));
  }

  private async fileEntry(h: TarEntryHeader): Promise<TarEntrySink | null> {
    const f = this.admit(h);
    if (!f) return null;
    const staged = this.ctx.staging ? await stageFile(this.ctx.staging, f, (h.mode & 0o111) !== 0) : undefined;
    const out = staged && !staged.kept ? staged.out : undefined;
    const hash = this.hashFor(f.size);
    return {
      write: async (b) => {
        await hash.update(b);
        if (out) await out.write(b);
      },
      end: async () => {
        const settled = hash.digest().then((got) => this.settle(f, got, staged));
        if (hash.later) this.later.push(settled);
        else await settled;
      },
    };
  }

  /** The manifest's entry for this header, if the entry is allowed and its header is pack's; else a fault. */
  private admit(h: TarEntryHeader): BundleFile | undefined {
    const verdict = checkEntry(h, this.listed, this.seen);
    if (verdict instanceof AirgapError) {
      this.ctx.faults.push(verdict);
      return undefined;
    }
    if (!this.isPackHeader(h.raw, verdict.path, verdict.size)) {
      this.ctx.faults.push(
        new AirgapError(
          'MEDIA_UNSAFE_ENTRY',
          `${verdict.path}: its tar header is not the one bundle pack writes for it`,
        ),
      );
      return undefined;
    }
    return verdict;
  }

  private hashFor(size: number): EntryHash {
    if (this.queued.worker < this.queued.main) {
      this.queued.worker += size;
      const remote = this.ctx.hasher.start();
      return { update: (b) => remote.update(b), digest: () => remote.digest(), later: true };
    }
    this.queued.main += size;
    const local = createHash('sha256');
    return {
      update: (b) => {
        local.update(b);
      },
      digest: () => Promise.resolve(local.digest('hex')),
      later: false,
    };
  }

  /** A file's content hashed: a fault if it is not the manifest's; else, when unpacking, it is staged. */
  private async settle(f: BundleFile, got: string, staged: StagedFile | undefined): Promise<void> {
    if (got !== f.sha256) {
      this.ctx.faults.push(
        new AirgapError('MEDIA_FILE_DIGEST_MISMATCH', `${f.path}: sha256 mismatch, expected ${f.sha256}, got ${got}`),
      );
      if (staged && !staged.kept) await staged.out.abort();
      return;
    }
    const staging = this.ctx.staging;
    if (!staged || !staging) return;
    if (staged.kept) {
      this.counts.skipped++;
      return;
    }
    await staged.out.commit();
    staging.state.files[f.path] = f.sha256;
    this.counts.written++;
    if (this.counts.written % 50 === 0) await saveUnpackState(staging);
  }
}
