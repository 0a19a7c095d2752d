/**
 * backup.json, the last entry of a backup archive: what the archive holds (every file's size and
 * SHA-256, owner and mode), the instance it came from, and the checkpoint current at backup time.
 * Parsed strictly: an archive is outside input.
 */
import { AirgapError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';

export const BACKUP_FORMAT = 'rekor-airgap-backup/1';
export const BACKUP_MANIFEST = 'backup.json';
/** The age-encrypted tar of the instance's secret files. */
export const BACKUP_SECRETS = 'secrets.tar.age';

/** Where a file of the archive goes back to. */
export type BackupArea = 'data' | 'dump' | 'hook' | 'checkpoints';

export interface BackupFile {
  /** Path inside the archive: `<area>/<rel>`. */
  path: string;
  size: number;
  sha256: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface BackupDir {
  /** Path relative to the instance directory. */
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  tool: string;
  instance: string;
  profile: string;
  kind: string;
  origin: string;
  logKeyId: string;
  /** The checkpoint the log served when writes were paused (as signed). */
  checkpoint: { size: number; rootHex: string; note: string };
  files: BackupFile[];
  dirs: BackupDir[];
  secrets: { path: typeof BACKUP_SECRETS; size: number; sha256: string; files: number };
  hooks: Array<{ name: string; path: string }>;
  dumps: Array<{ name: string; path: string }>;
}

const bad = (why: string) => new AirgapError('BACKUP_ARCHIVE_CORRUPT', `${BACKUP_MANIFEST}: ${why}`);

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}
function str(o: Record<string, unknown>, k: string, what: string, re?: RegExp): string {
  const v = o[k];
  if (typeof v !== 'string' || (re && !re.test(v))) throw bad(`${what}.${k} is missing or malformed`);
  return v;
}
function int(o: Record<string, unknown>, k: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw bad(`${what}.${k} is not a whole number in range`);
  return v;
}
function list(o: Record<string, unknown>, k: string, what: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(`${what}.${k} is not a list`);
  return v;
}

const SHA = /^[0-9a-f]{64}$/;
const AREAS = /^(data|dump|hook|checkpoints)\//;

function safeRel(p: string, what: string): string {
  if (!isSafeRelativePath(p)) throw bad(`${what} ${JSON.stringify(p)} is not a safe relative path`);
  return p;
}

export function parseBackupManifest(text: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  const o = obj(raw, 'the manifest');
  if (o.format !== BACKUP_FORMAT) {
    throw new AirgapError('BACKUP_FORMAT_UNSUPPORTED', `${BACKUP_MANIFEST}: format ${JSON.stringify(o.format)} is not ${BACKUP_FORMAT} (a newer rekor-airgap wrote it?)`);
  }
  const cp = obj(o.checkpoint, 'checkpoint');
  const secrets = obj(o.secrets, 'secrets');
  const seen = new Set<string>();
  const files = list(o, 'files', 'manifest').map((f, i) => {
    const e = obj(f, `files[${i}]`);
    const p = safeRel(str(e, 'path', `files[${i}]`), `files[${i}].path`);
    if (!AREAS.test(p)) throw bad(`files[${i}].path ${p} is outside the archive's areas`);
    if (seen.has(p)) throw bad(`files[${i}].path ${p} is listed twice`);
    seen.add(p);
    return { path: p, size: int(e, 'size', `files[${i}]`), sha256: str(e, 'sha256', `files[${i}]`, SHA), mode: int(e, 'mode', `files[${i}]`, 0o7777), uid: int(e, 'uid', `files[${i}]`, 2 ** 32 - 1), gid: int(e, 'gid', `files[${i}]`, 2 ** 32 - 1) };
  });
  const dirs = list(o, 'dirs', 'manifest').map((d, i) => {
    const e = obj(d, `dirs[${i}]`);
    return { path: safeRel(str(e, 'path', `dirs[${i}]`), `dirs[${i}].path`), mode: int(e, 'mode', `dirs[${i}]`, 0o7777), uid: int(e, 'uid', `dirs[${i}]`, 2 ** 32 - 1), gid: int(e, 'gid', `dirs[${i}]`, 2 ** 32 - 1) };
  });
  const named = (k: 'hooks' | 'dumps') => list(o, k, 'manifest').map((h, i) => {
    const e = obj(h, `${k}[${i}]`);
    const p = str(e, 'path', `${k}[${i}]`);
    if (!seen.has(p)) throw bad(`${k}[${i}].path ${p} is not a file of the archive`);
    return { name: str(e, 'name', `${k}[${i}]`, /^[\w.-]{1,64}$/), path: p };
  });
  if (secrets.path !== BACKUP_SECRETS) throw bad(`secrets.path is not ${BACKUP_SECRETS}`);
  return {
    format: BACKUP_FORMAT,
    createdAt: str(o, 'createdAt', 'manifest'),
    tool: str(o, 'tool', 'manifest'),
    instance: str(o, 'instance', 'manifest', /^[a-z0-9][a-z0-9-]{0,30}$/),
    profile: str(o, 'profile', 'manifest', /^[\w.-]{1,64}$/),
    kind: str(o, 'kind', 'manifest', /^[\w.-]{1,64}$/),
    origin: str(o, 'origin', 'manifest'),
    logKeyId: str(o, 'logKeyId', 'manifest', SHA),
    checkpoint: { size: int(cp, 'size', 'checkpoint'), rootHex: str(cp, 'rootHex', 'checkpoint', SHA), note: str(cp, 'note', 'checkpoint') },
    files,
    dirs,
    secrets: { path: BACKUP_SECRETS, size: int(secrets, 'size', 'secrets'), sha256: str(secrets, 'sha256', 'secrets', SHA), files: int(secrets, 'files', 'secrets') },
    hooks: named('hooks'),
    dumps: named('dumps'),
  };
}

/**
 * What the encrypted secrets vouch for: the digest of every plain file's path, size and hash.
 * It sits inside the age envelope, so the passphrase authenticates the whole archive.
 */
export function plainFilesDigestInput(files: readonly BackupFile[]): string {
  return files.map((f) => `${f.sha256} ${f.size} ${f.path}\n`).join('');
}
