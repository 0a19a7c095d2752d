/**
 * The secret files of a backup (signing key, passwords, CA and TLS keys), as a small tar sealed
 * with a passphrase in age's format (https://age-encryption.org/v1, scrypt recipient): an operator
 * opens it without this tool with `age -d secrets.tar.age | tar -t`. Inside, `secrets.json` lists
 * each file's owner and mode, and the digest of the archive's plain files, so the passphrase also
 * authenticates them.
 */
import { createHash } from 'node:crypto';
import { Decrypter, Encrypter } from 'age-encryption';
import { AirgapError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import { parseTar, TAR_END, tarFileHeader, tarPadding } from '../util/tar.js';

export interface SecretFile {
  /** Path relative to the instance directory. */
  path: string;
  bytes: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

export interface OpenedSecrets {
  files: SecretFile[];
  plainFilesSha256: string;
}

const INDEX = 'secrets.json';
const MTIME = 0;

/** age's default scrypt work factor (2^18): about a second here, on purpose. */
export const SCRYPT_LOG_N = 18;

export async function sealSecrets(files: readonly SecretFile[], plainFilesSha256: string, passphrase: string, scryptLogN = SCRYPT_LOG_N): Promise<Uint8Array> {
  const index = JSON.stringify({ plainFilesSha256, files: files.map((f) => ({ path: f.path, mode: f.mode, uid: f.uid, gid: f.gid, sha256: createHash('sha256').update(f.bytes).digest('hex') })) }, null, 2);
  const parts: Buffer[] = [];
  const add = (name: string, bytes: Buffer, mode: number) => parts.push(tarFileHeader(name, bytes.length, mode, MTIME), bytes, tarPadding(bytes.length));
  add(INDEX, Buffer.from(index), 0o600);
  for (const f of files) add(f.path, f.bytes, 0o600);
  parts.push(TAR_END);
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  e.setScryptWorkFactor(scryptLogN);
  return e.encrypt(new Uint8Array(Buffer.concat(parts)));
}

export async function openSecrets(sealed: Uint8Array, passphrase: string, where: string): Promise<OpenedSecrets> {
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  let tar: Uint8Array;
  try {
    tar = await d.decrypt(sealed);
  } catch (e) {
    const msg = (e as Error).message;
    if (/no identity matched/i.test(msg)) throw new AirgapError('BACKUP_PASSPHRASE_WRONG', `the passphrase does not open the secrets of ${where}`, { cause: e });
    throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the secrets of ${where} are damaged: ${msg}`, { cause: e });
  }
  const entries = new Map<string, Buffer>();
  await parseTar((async function* () { yield Buffer.from(tar); })(), (h) => {
    if (h.type !== '0' || (h.path !== INDEX && !isSafeRelativePath(h.path)) || entries.has(h.path)) {
      throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the secrets of ${where} hold an unexpected entry ${JSON.stringify(h.path)}`);
    }
    const chunks: Buffer[] = [];
    return { write: (c) => { chunks.push(Buffer.from(c)); }, end: () => { entries.set(h.path, Buffer.concat(chunks)); } };
  });
  const corrupt = (why: string) => new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the secrets of ${where}: ${why}`);
  let index: { plainFilesSha256?: unknown; files?: unknown };
  try {
    index = JSON.parse((entries.get(INDEX) ?? Buffer.from('')).toString('utf8')) as typeof index;
  } catch {
    throw corrupt(`${INDEX} is missing or not JSON`);
  }
  if (typeof index.plainFilesSha256 !== 'string' || !Array.isArray(index.files)) throw corrupt(`${INDEX} is malformed`);
  const files = index.files.map((f: { path?: unknown; mode?: unknown; uid?: unknown; gid?: unknown; sha256?: unknown }) => {
    const bytes = typeof f.path === 'string' ? entries.get(f.path) : undefined;
    if (!bytes || typeof f.mode !== 'number' || typeof f.uid !== 'number' || typeof f.gid !== 'number') throw corrupt(`${INDEX} lists ${JSON.stringify(f.path)} badly`);
    if (createHash('sha256').update(bytes).digest('hex') !== f.sha256) throw corrupt(`${String(f.path)} does not match its digest`);
    return { path: f.path as string, bytes, mode: f.mode & 0o7777, uid: f.uid, gid: f.gid };
  });
  return { files, plainFilesSha256: index.plainFilesSha256 };
}
