/**
 * The backup archive: a plain ustar stream (open it with `tar -x`), written and read as a stream so
 * memory stays flat however large the log is. Files first, each hashed as it is copied; the
 * age-sealed secrets (with the digest of backup.json); `backup.json` last, listing what came before.
 * 0600 from its first byte.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import { AirgapError } from '../errors.js';
import { AtomicFile } from '../util/atomic-file.js';
import { safeFilePath } from '../util/safe-path.js';
import { parseTar, TAR_END, tarFileHeader, tarPadding, type TarEntryHeader, type TarEntrySink } from '../util/tar.js';
import {
  BACKUP_MANIFEST,
  BACKUP_MANIFEST_MAX_BYTES,
  BACKUP_SECRETS,
  manifestDigest,
  parseBackupManifest,
  serializeBackupManifest,
  type BackupFile,
  type BackupManifest,
} from './backup-manifest.js';
import { openSecrets, sealSecrets, SCRYPT_LOG_N, type SecretFile } from './secrets-envelope.js';

const MTIME = 0;
const READ_SIZE = 1024 * 1024;
const SECRETS_LIMIT = 16 * 1024 * 1024;

export class BackupArchiveWriter {
  readonly files: BackupFile[] = [];

  private constructor(private readonly out: AtomicFile) {}

  /** Opens `target` for writing (a temporary file, 0600, renamed into place by `seal`; `abort` removes it). */
  static async open(target: string): Promise<BackupArchiveWriter> {
    return new BackupArchiveWriter(await AtomicFile.open(target, { mode: 0o600 }));
  }

  get target(): string {
    return this.out.target;
  }

  get bytes(): number {
    return this.out.bytes;
  }

  /** Copies a file of the instance, hashing it on the way; it must not change while read. */
  async addFile(archivePath: string, source: string, st: Stats): Promise<void> {
    await this.out.write(tarFileHeader(archivePath, st.size, 0o600, MTIME));
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of createReadStream(source, { highWaterMark: READ_SIZE })) {
      const b = chunk as Buffer;
      n += b.length;
      if (n > st.size) break;
      hash.update(b);
      await this.out.write(b);
    }
    if (n !== st.size)
      throw new AirgapError(
        'BACKUP_FAILED',
        `${source} changed size while it was copied (${st.size} → ${n} bytes): a service still writes it`,
      );
    await this.out.write(tarPadding(st.size));
    this.files.push({
      path: archivePath,
      size: st.size,
      sha256: hash.digest('hex'),
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
    });
  }

  /** Adds bytes made by the backup (a dump, a hook's output, a checkpoint). */
  async addBytes(
    archivePath: string,
    bytes: Uint8Array,
    meta: { mode: number; uid: number; gid: number },
    listed = true,
  ): Promise<string> {
    await this.out.write(tarFileHeader(archivePath, bytes.length, 0o600, MTIME));
    await this.out.write(bytes);
    await this.out.write(tarPadding(bytes.length));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (listed) this.files.push({ path: archivePath, size: bytes.length, sha256, ...meta });
    return sha256;
  }

  /**
   * Ends the archive: the secrets sealed with the passphrase together with the SHA-256 of
   * backup.json's exact bytes, then backup.json (listing every file written before) last.
   */
  async seal(
    manifest: BackupManifest,
    secrets: readonly SecretFile[],
    passphrase: string,
    scryptLogN = SCRYPT_LOG_N,
  ): Promise<void> {
    const bytes = serializeBackupManifest(manifest);
    const sealed = await sealSecrets(secrets, manifestDigest(bytes), passphrase, scryptLogN);
    await this.addBytes(BACKUP_SECRETS, sealed, { mode: 0o600, uid: 0, gid: 0 }, false);
    await this.addBytes(BACKUP_MANIFEST, bytes, { mode: 0o600, uid: 0, gid: 0 }, false);
    await this.out.write(TAR_END);
    await this.out.commit();
  }

  async abort(): Promise<void> {
    await this.out.abort();
  }
}

export interface OpenedArchive {
  /** backup.json, parsed only after the passphrase vouched for its bytes. */
  manifest: BackupManifest;
  /** The secret files, opened with the passphrase. */
  secrets: SecretFile[];
  bytes: number;
}

/** What one pass over an archive found, before anything in it is trusted. */
interface ArchiveScan {
  /** The archive, named in every error. */
  file: string;
  /** Where each file is written as it is read (absent: only hashed). */
  stagingDir: string | undefined;
  /** Size and SHA-256 of every other file, by its path in the archive. */
  seen: Map<string, { size: number; sha256: string }>;
  /** backup.json's bytes, once read. */
  manifestBytes?: Buffer;
  /** The sealed secrets' bytes, once read. */
  sealed?: Buffer;
}

/**
 * Reads an archive in one pass: every file is hashed (and written under `stagingDir` when given),
 * backup.json and the sealed secrets are kept (their sizes capped on the tar header, before a byte
 * is kept). Then, in this order: the passphrase opens the secrets; the SHA-256 of backup.json's
 * bytes must be the one sealed with them; only then is backup.json parsed, and every file checked
 * against it. Nothing in the archive is trusted before the passphrase has vouched for it.
 */
export async function openBackupArchive(file: string, passphrase: string, stagingDir?: string): Promise<OpenedArchive> {
  const st = await statArchive(file);
  const scan = await scanArchive(file, stagingDir);
  const { manifestBytes, sealed } = sealedParts(scan);
  const opened = await openSecrets(sealed, passphrase, file);
  const manifest = parseVouchedManifest(file, manifestBytes, opened.manifestSha256);
  const faults = [...fileFaults(manifest, scan.seen), ...secretCountFaults(manifest, opened.files.length)];
  if (faults.length)
    throw corrupt(
      file,
      `${faults.length} fault(s): ${faults.slice(0, 20).join('; ')}${faults.length > 20 ? '; ...' : ''}`,
    );
  return { manifest, secrets: opened.files, bytes: st.size };
}

function corrupt(file: string, why: string): AirgapError {
  return new AirgapError('BACKUP_ARCHIVE_CORRUPT', `${file}: ${why}`);
}

/** The archive must be a readable regular file. */
async function statArchive(file: string): Promise<Stats> {
  const st = await fsp.stat(file).catch((e: Error) => {
    throw new AirgapError('BACKUP_ARCHIVE_UNREADABLE', `cannot read the backup ${file}: ${e.message}`);
  });
  if (!st.isFile()) throw new AirgapError('BACKUP_ARCHIVE_UNREADABLE', `${file} is not a file`);
  return st;
}

/** One pass over the tar stream; a tar that does not parse is a corrupt backup. */
async function scanArchive(file: string, stagingDir: string | undefined): Promise<ArchiveScan> {
  const scan: ArchiveScan = { file, stagingDir, seen: new Map() };
  try {
    await parseTar(
      createReadStream(file, { highWaterMark: READ_SIZE }) as AsyncIterable<Buffer>,
      (h) => entrySink(scan, h),
      { strict: true },
    );
  } catch (e) {
    if (e instanceof AirgapError && e.code.startsWith('BACKUP_')) throw e;
    if (e instanceof AirgapError && e.code.startsWith('MEDIA_TAR'))
      throw corrupt(file, `not a complete backup archive (${e.message})`);
    throw e;
  }
  return scan;
}

/** Where an entry's bytes go: backup.json and the secrets are kept, every other file hashed (and staged). */
async function entrySink(scan: ArchiveScan, h: TarEntryHeader): Promise<TarEntrySink> {
  const { file } = scan;
  if (h.type !== '0') throw corrupt(file, `entry ${JSON.stringify(h.path)} is not a regular file`);
  if (
    scan.seen.has(h.path) ||
    (h.path === BACKUP_MANIFEST && scan.manifestBytes) ||
    (h.path === BACKUP_SECRETS && scan.sealed)
  )
    throw corrupt(file, `entry ${h.path} appears twice`);
  if (scan.manifestBytes) throw corrupt(file, `entry ${h.path} follows ${BACKUP_MANIFEST}, which must be last`);
  if (h.path === BACKUP_MANIFEST)
    return collect(file, h, BACKUP_MANIFEST_MAX_BYTES, (b) => {
      scan.manifestBytes = b;
    });
  if (h.path === BACKUP_SECRETS)
    return collect(file, h, SECRETS_LIMIT, (b) => {
      scan.sealed = b;
    });
  return hashingSink(scan, h);
}

/** Keeps an entry's bytes in memory, its size capped on the header before a byte is kept. */
function collect(file: string, h: TarEntryHeader, limit: number, done: (b: Buffer) => void): TarEntrySink {
  if (h.size > limit) throw corrupt(file, `${h.path} is ${h.size} bytes, more than the ${limit} allowed`);
  const parts: Buffer[] = [];
  return {
    write: (c) => {
      parts.push(Buffer.from(c));
    },
    end: () => done(Buffer.concat(parts)),
  };
}

/** Hashes a file of the archive as it streams, writing it under the staging directory when there is one. */
async function hashingSink(scan: ArchiveScan, h: TarEntryHeader): Promise<TarEntrySink> {
  const hash = createHash('sha256');
  let size = 0;
  const target = scan.stagingDir
    ? await safeFilePath(scan.stagingDir, h.path).catch((e: Error) => {
        throw corrupt(scan.file, e.message);
      })
    : undefined;
  const out = target ? await AtomicFile.open(target, { mode: 0o600 }) : undefined;
  return {
    write: async (c) => {
      hash.update(c);
      size += c.length;
      await out?.write(c);
    },
    end: async () => {
      scan.seen.set(h.path, { size, sha256: hash.digest('hex') });
      await out?.commit();
    },
  };
}

/** backup.json and the sealed secrets: a backup without either is truncated or not one. */
function sealedParts(scan: ArchiveScan): { manifestBytes: Buffer; sealed: Buffer } {
  const { file, manifestBytes, sealed } = scan;
  if (!manifestBytes)
    throw corrupt(file, `${BACKUP_MANIFEST} is missing (the archive is truncated or not a rekor-airgap backup)`);
  if (!sealed) throw corrupt(file, `${BACKUP_SECRETS} is missing`);
  return { manifestBytes, sealed };
}

/** backup.json, parsed only when its SHA-256 is the one sealed with the secrets. */
function parseVouchedManifest(file: string, manifestBytes: Buffer, sealedSha256: string): BackupManifest {
  if (manifestDigest(manifestBytes) !== sealedSha256) {
    throw corrupt(
      file,
      `${BACKUP_MANIFEST} is not the one the passphrase vouches for (sha256 ${manifestDigest(manifestBytes)}, sealed ${sealedSha256}): it was altered after the backup`,
    );
  }
  return parseBackupManifest(manifestBytes);
}

/** Every listed file must be there with its size and digest, and every file there must be listed. */
function fileFaults(manifest: BackupManifest, seen: ArchiveScan['seen']): string[] {
  const faults: string[] = [];
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const got = seen.get(f.path);
    if (!got) faults.push(`${f.path} is listed but missing`);
    else if (got.size !== f.size || got.sha256 !== f.sha256)
      faults.push(
        `${f.path} is damaged (sha256 ${got.sha256}, ${got.size} bytes; listed ${f.sha256}, ${f.size} bytes)`,
      );
  }
  for (const p of seen.keys()) if (!listed.has(p)) faults.push(`${p} is not listed in ${BACKUP_MANIFEST}`);
  return faults;
}

/** The sealed secrets must be as many as backup.json says. */
function secretCountFaults(manifest: BackupManifest, opened: number): string[] {
  return opened !== manifest.secrets.files
    ? [`${BACKUP_SECRETS} holds ${opened} secret files; ${BACKUP_MANIFEST} says ${manifest.secrets.files}`]
    : [];
}

/** `data/log/x` → `log/x`: where an archived file of the instance goes back to. */
export function dataRel(archivePath: string): string | undefined {
  return archivePath.startsWith('data/') ? archivePath.slice('data/'.length) : undefined;
}
