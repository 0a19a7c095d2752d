/**
 * The secret files of a backup (signing key, passwords, CA and TLS keys), as a small tar sealed
 * with a passphrase in age's format (https://age-encryption.org/v1, scrypt recipient): an operator
 * opens it without this tool with `age -d secrets.tar.age | tar -t`. Inside, `secrets.json` lists
 * each file's owner and mode and carries the SHA-256 of the archive's backup.json, which lists every
 * other file with its digest: the passphrase authenticates the whole archive. age authenticates the
 * sealed part itself (a header MAC and an AEAD payload).
 */
import { createHash } from 'node:crypto';
import { Decrypter, Encrypter } from 'age-encryption';
import { AirgapError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import { parseTar, TAR_END, tarFileHeader, tarPadding } from '../util/tar.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';
import { BACKUP_FORMAT, unauthenticatedFormat } from './backup-manifest.js';
import { SHA256_HEX_PATTERN } from '../util/sha256.js';

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
  /** SHA-256 of the backup.json these secrets were sealed with. */
  manifestSha256: string;
}

const INDEX = 'secrets.json';
/** secrets.json lists a handful of files: a few KiB. Checked on its tar header before it is read. */
export const SECRETS_INDEX_MAX_BYTES = 1024 * 1024;
const MTIME = 0;

/** age's default scrypt work factor (2^18): about a second here, on purpose. */
export const SCRYPT_LOG_N = 18;

export async function sealSecrets(
  files: readonly SecretFile[],
  manifestSha256: string,
  passphrase: string,
  scryptLogN = SCRYPT_LOG_N,
): Promise<Uint8Array> {
  const index = JSON.stringify(
    {
      format: BACKUP_FORMAT,
      manifestSha256,
      files: files.map((f) => ({
        path: f.path,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        sha256: createHash('sha256').update(f.bytes).digest('hex'),
      })),
    },
    null,
    2,
  );
  const parts: Buffer[] = [];
  const add = (name: string, bytes: Buffer, mode: number) =>
    parts.push(tarFileHeader(name, bytes.length, mode, MTIME), bytes, tarPadding(bytes.length));
  add(INDEX, Buffer.from(index), 0o600);
  for (const f of files) add(f.path, f.bytes, 0o600);
  parts.push(TAR_END);
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  e.setScryptWorkFactor(scryptLogN);
  return e.encrypt(new Uint8Array(Buffer.concat(parts)));
}

export async function openSecrets(sealed: Uint8Array, passphrase: string, where: string): Promise<OpenedSecrets> {
  const tar = await decryptSecrets(sealed, passphrase, where);
  const entries = await readSealedTar(tar, where);
  const bytes = entries.get(INDEX);
  if (!bytes) throw corrupt(where, `${INDEX} is missing`);
  const index = readSecretsIndex(bytes, where);
  const manifestSha256 = index.at('manifestSha256').string(SHA256_HEX_PATTERN);
  const listed = new Set<string>();
  const files = index
    .at('files')
    .list()
    .map((f) => listedSecret(f, entries, listed, where));
  for (const p of entries.keys())
    if (p !== INDEX && !listed.has(p)) throw corrupt(where, `${p} is not listed in ${INDEX}`);
  return { files, manifestSha256 };
}

function corrupt(where: string, why: string): AirgapError {
  return new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the secrets of ${where}: ${why}`);
}

/** The sealed tar: a passphrase that does not open it is BACKUP_PASSPHRASE_WRONG, anything else damage. */
async function decryptSecrets(sealed: Uint8Array, passphrase: string, where: string): Promise<Uint8Array> {
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  try {
    return await d.decrypt(sealed);
  } catch (e) {
    const msg = (e as Error).message;
    if (/no identity matched/i.test(msg))
      throw new AirgapError('BACKUP_PASSPHRASE_WRONG', `the passphrase does not open the secrets of ${where}`, {
        cause: e,
      });
    throw new AirgapError('BACKUP_ARCHIVE_CORRUPT', `the secrets of ${where} are damaged: ${msg}`, { cause: e });
  }
}

/** Every entry of the sealed tar, by path: regular files with safe paths, each once, the index size-capped. */
async function readSealedTar(tar: Uint8Array, where: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  try {
    await parseTar(
      (async function* () {
        yield Buffer.from(tar);
      })(),
      (h) => {
        if (h.type !== '0' || (h.path !== INDEX && !isSafeRelativePath(h.path)) || entries.has(h.path))
          throw corrupt(where, `an unexpected entry ${JSON.stringify(h.path)}`);
        if (h.path === INDEX && h.size > SECRETS_INDEX_MAX_BYTES)
          throw corrupt(where, `${INDEX} is ${h.size} bytes, more than the ${SECRETS_INDEX_MAX_BYTES} allowed`);
        const chunks: Buffer[] = [];
        return {
          write: (c) => {
            chunks.push(Buffer.from(c));
          },
          end: () => {
            entries.set(h.path, Buffer.concat(chunks));
          },
        };
      },
      { strict: true },
    );
  } catch (e) {
    if (e instanceof AirgapError && e.code.startsWith('MEDIA_TAR')) throw corrupt(where, `not a tar (${e.message})`);
    throw e;
  }
  return entries;
}

/** secrets.json, parsed with caps, of this format (an older one that did not vouch for backup.json is refused). */
function readSecretsIndex(bytes: Buffer, where: string): JsonValue {
  const index = readUntrustedJson(
    bytes,
    { what: `the secrets of ${where}: ${INDEX}`, code: 'BACKUP_ARCHIVE_CORRUPT' },
    { maxBytes: SECRETS_INDEX_MAX_BYTES },
  );
  // Before format 2 the index vouched only for the plain files' digests, not for backup.json.
  if (index.at('manifestSha256').isAbsent && !index.at('plainFilesSha256').isAbsent) throw unauthenticatedFormat();
  const format = index.at('format').string();
  if (format !== BACKUP_FORMAT)
    throw new AirgapError(
      'BACKUP_FORMAT_UNSUPPORTED',
      `the secrets of ${where} are of format ${JSON.stringify(format)}, not ${BACKUP_FORMAT} (a newer rekor-airgap wrote them?)`,
    );
  return index;
}

/** One file secrets.json lists: in the tar once, matching its digest, with its owner and mode. */
function listedSecret(f: JsonValue, entries: Map<string, Buffer>, listed: Set<string>, where: string): SecretFile {
  const p = f.at('path').string();
  const content = entries.get(p);
  if (p === INDEX || !content || listed.has(p))
    f.at('path').fail(`${JSON.stringify(p.slice(0, 200))} is not a file of the sealed tar, or is listed twice`);
  listed.add(p);
  if (createHash('sha256').update(content!).digest('hex') !== f.at('sha256').string(SHA256_HEX_PATTERN))
    throw corrupt(where, `${p} does not match its digest`);
  return {
    path: p,
    bytes: content!,
    mode: f.at('mode').int(0, 0o7777),
    uid: f.at('uid').int(0, 2 ** 32 - 1),
    gid: f.at('gid').int(0, 2 ** 32 - 1),
  };
}
