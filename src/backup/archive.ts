/**
 * The backup archive: a plain ustar stream (open it with `tar -x`), written and read as a stream so
 * memory stays flat however large the log is. Files first, each hashed as it is copied; the
 * age-sealed secrets; `backup.json` last, listing what came before. 0600 from its first byte.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { AtomicFile } from '../util/atomic-file.js';
import { safeFilePath } from '../util/safe-path.js';
import { parseTar, TAR_END, tarFileHeader, tarPadding, type TarEntrySink } from '../util/tar.js';
import { BACKUP_MANIFEST, BACKUP_SECRETS, parseBackupManifest, type BackupFile, type BackupManifest } from './backup-manifest.js';

const MTIME = 0;
const READ_SIZE = 1024 * 1024;
const MANIFEST_LIMIT = 64 * 1024 * 1024;
const SECRETS_LIMIT = 16 * 1024 * 1024;

export class BackupArchiveWriter {
  readonly files: BackupFile[] = [];

  private constructor(private readonly out: AtomicFile) {}

  /** Opens `target` for writing (a temporary file, 0600, renamed into place by `finish`). */
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
    if (n !== st.size) throw new AirgapError('BACKUP_FAILED', `${source} changed size while it was copied (${st.size} → ${n} bytes): a service still writes it`);
    await this.out.write(tarPadding(st.size));
    this.files.push({ path: archivePath, size: st.size, sha256: hash.digest('hex'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }

  /** Adds bytes made by the backup (a dump, a hook's output, a checkpoint). */
  async addBytes(archivePath: string, bytes: Uint8Array, meta: { mode: number; uid: number; gid: number }, listed = true): Promise<string> {
    await this.out.write(tarFileHeader(archivePath, bytes.length, 0o600, MTIME));
    await this.out.write(bytes);
    await this.out.write(tarPadding(bytes.length));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (listed) this.files.push({ path: archivePath, size: bytes.length, sha256, ...meta });
    return sha256;
  }

  async finish(manifest: BackupManifest): Promise<void> {
    await this.addBytes(BACKUP_MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), { mode: 0o600, uid: 0, gid: 0 }, false);
    await this.out.write(TAR_END);
    await this.out.commit();
  }

  async abort(): Promise<void> {
    await this.out.abort();
  }
}

export interface ReadArchive {
  manifest: BackupManifest;
  sealedSecrets: Buffer;
  bytes: number;
}

/**
 * Reads an archive in one pass: every file is hashed (and written under `stagingDir` when given),
 * then checked against `backup.json`. Nothing is trusted until the whole archive holds.
 */
export async function readBackupArchive(file: string, stagingDir?: string): Promise<ReadArchive> {
  const st = await fsp.stat(file).catch((e: Error) => { throw new AirgapError('BACKUP_ARCHIVE_UNREADABLE', `cannot read the backup ${file}: ${e.message}`); });
  if (!st.isFile()) throw new AirgapError('BACKUP_ARCHIVE_UNREADABLE', `${file} is not a file`);
  const seen = new Map<string, { size: number; sha256: string }>();
  let manifestBytes: Buffer | undefined;
  let sealed: Buffer | undefined;
  const corrupt = (why: string) => new AirgapError('BACKUP_ARCHIVE_CORRUPT', `${file}: ${why}`);
  const collect = (limit: number, name: string, done: (b: Buffer) => void): TarEntrySink => {
    const parts: Buffer[] = [];
    let n = 0;
    return {
      write: (c) => { n += c.length; if (n > limit) throw corrupt(`${name} is larger than ${limit} bytes`); parts.push(Buffer.from(c)); },
      end: () => done(Buffer.concat(parts)),
    };
  };
  try {
    await parseTar(createReadStream(file, { highWaterMark: READ_SIZE }) as AsyncIterable<Buffer>, async (h) => {
      if (h.type !== '0') throw corrupt(`entry ${JSON.stringify(h.path)} is not a regular file`);
      if (seen.has(h.path) || (h.path === BACKUP_MANIFEST && manifestBytes) || (h.path === BACKUP_SECRETS && sealed)) throw corrupt(`entry ${h.path} appears twice`);
      if (manifestBytes) throw corrupt(`entry ${h.path} follows ${BACKUP_MANIFEST}, which must be last`);
      if (h.path === BACKUP_MANIFEST) return collect(MANIFEST_LIMIT, h.path, (b) => { manifestBytes = b; });
      if (h.path === BACKUP_SECRETS) return collect(SECRETS_LIMIT, h.path, (b) => { sealed = b; seen.set(h.path, { size: b.length, sha256: createHash('sha256').update(b).digest('hex') }); });
      const hash = createHash('sha256');
      let size = 0;
      const target = stagingDir ? await safeFilePath(stagingDir, h.path).catch((e: Error) => { throw corrupt(e.message); }) : undefined;
      const out = target ? await AtomicFile.open(target, { mode: 0o600 }) : undefined;
      return {
        write: async (c) => { hash.update(c); size += c.length; await out?.write(c); },
        end: async () => { seen.set(h.path, { size, sha256: hash.digest('hex') }); await out?.commit(); },
      };
    }, { strict: true });
  } catch (e) {
    if (e instanceof AirgapError && e.code.startsWith('BACKUP_')) throw e;
    if (e instanceof AirgapError && e.code.startsWith('MEDIA_TAR')) throw corrupt(`not a complete backup archive (${e.message})`);
    throw e;
  }
  if (!manifestBytes) throw corrupt(`${BACKUP_MANIFEST} is missing (the archive is truncated or not a rekor-airgap backup)`);
  const manifest = parseBackupManifest(manifestBytes.toString('utf8'));
  if (!sealed) throw corrupt(`${BACKUP_SECRETS} is missing`);
  const faults: string[] = [];
  const listed = new Set<string>([BACKUP_SECRETS]);
  const check = (p: string, want: { size: number; sha256: string }) => {
    listed.add(p);
    const got = seen.get(p);
    if (!got) faults.push(`${p} is listed but missing`);
    else if (got.size !== want.size || got.sha256 !== want.sha256) faults.push(`${p} is damaged (sha256 ${got.sha256}, ${got.size} bytes; listed ${want.sha256}, ${want.size} bytes)`);
  };
  for (const f of manifest.files) check(f.path, f);
  check(BACKUP_SECRETS, manifest.secrets);
  for (const p of seen.keys()) if (!listed.has(p)) faults.push(`${p} is not listed in ${BACKUP_MANIFEST}`);
  if (faults.length) throw corrupt(`${faults.length} fault(s): ${faults.slice(0, 20).join('; ')}${faults.length > 20 ? '; ...' : ''}`);
  return { manifest, sealedSecrets: sealed, bytes: st.size };
}

/** `data/log/x` → `log/x`: where an archived file of the instance goes back to. */
export function dataRel(archivePath: string): string | undefined {
  return archivePath.startsWith('data/') ? archivePath.slice('data/'.length) : undefined;
}
