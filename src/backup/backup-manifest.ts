/**
 * backup.json, the last entry of a backup archive: what the archive holds (every file's size and
 * SHA-256, owner and mode; the directories with theirs), the instance it came from, and the
 * checkpoint current at backup time. The sealed secrets carry the SHA-256 of these exact bytes, so
 * nothing in it counts until the passphrase has vouched for it; it is parsed strictly all the same.
 */
import { createHash } from 'node:crypto';
import { AirgapError } from '../errors.js';
import { STACK_KINDS } from '../stacks/kinds.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import { readUntrustedJson, type JsonSource, type JsonValue } from '../util/untrusted-json.js';
import { SHA256_HEX_PATTERN } from '../util/sha256.js';

/**
 * 2: backup.json is authenticated whole (its digest is sealed with the secrets), so it does not
 * list the sealed part's own digest (age authenticates that part).
 */
export const BACKUP_FORMAT = 'rekor-airgap-backup/2';
/** Archives of rekor-airgap before backup.json was authenticated: refused (see the README). */
export const BACKUP_FORMAT_UNAUTHENTICATED = 'rekor-airgap-backup/1';
export const BACKUP_MANIFEST = 'backup.json';
/** The age-encrypted tar of the instance's secret files. */
export const BACKUP_SECRETS = 'secrets.tar.age';
/**
 * The largest backup.json read (checked on the tar header, before a byte is kept). About 230
 * bytes a file: some 290,000 files, a Rekor v2 log of tens of millions of entries.
 */
export const BACKUP_MANIFEST_MAX_BYTES = 64 * 1024 * 1024;

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
  kind: (typeof STACK_KINDS)[number];
  origin: string;
  logKeyId: string;
  /** The checkpoint the log served when writes were paused (as signed); a witness has none. */
  checkpoint?: { size: number; rootHex: string; note: string };
  /** A witness's backup: per log, the size of the latest checkpoint it had cosigned when paused. */
  witnessed?: Array<{ origin: string; size: number }>;
  files: BackupFile[];
  dirs: BackupDir[];
  secrets: { path: typeof BACKUP_SECRETS; files: number };
  hooks: Array<{ name: string; path: string }>;
  dumps: Array<{ name: string; path: string }>;
}

const SRC: JsonSource = { what: BACKUP_MANIFEST, code: 'BACKUP_ARCHIVE_CORRUPT' };
const NAME = /^[\w.-]{1,64}$/;
const AREAS = /^(data|dump|hook|checkpoints)\//;
const ID_MAX = 2 ** 32 - 1;

/** The bytes `backup` writes; their SHA-256 is what the sealed secrets vouch for. */
export function serializeBackupManifest(m: BackupManifest): Buffer {
  return Buffer.from(JSON.stringify(m, null, 2) + '\n');
}

export function manifestDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function safeRel(v: JsonValue): string {
  const p = v.string();
  if (!isSafeRelativePath(p)) v.fail(`${JSON.stringify(p.slice(0, 200))} is not a safe relative path`);
  return p;
}

function owned(e: JsonValue): { mode: number; uid: number; gid: number } {
  return { mode: e.at('mode').int(0, 0o7777), uid: e.at('uid').int(0, ID_MAX), gid: e.at('gid').int(0, ID_MAX) };
}

export function parseBackupManifest(input: string | Uint8Array): BackupManifest {
  const o = readUntrustedJson(input, SRC, { maxBytes: BACKUP_MANIFEST_MAX_BYTES });
  const format = o.at('format').raw;
  if (format === BACKUP_FORMAT_UNAUTHENTICATED) throw unauthenticatedFormat();
  if (format !== BACKUP_FORMAT) {
    throw new AirgapError(
      'BACKUP_FORMAT_UNSUPPORTED',
      `${BACKUP_MANIFEST}: format ${JSON.stringify(format)} is not ${BACKUP_FORMAT} (a newer rekor-airgap wrote it?)`,
    );
  }
  const kind = o.at('kind').string(NAME);
  if (!(STACK_KINDS as readonly string[]).includes(kind)) {
    throw new AirgapError(
      'BACKUP_WRONG_STACK',
      `${BACKUP_MANIFEST}: the backup is of a log of kind ${JSON.stringify(kind)}; this rekor-airgap runs ${STACK_KINDS.join(', ')}`,
    );
  }
  const seen = new Set<string>();
  const files = o
    .at('files')
    .list()
    .map((e) => {
      const p = safeRel(e.at('path'));
      if (!AREAS.test(p)) e.at('path').fail(`${p} is outside the archive's areas`);
      if (seen.has(p)) e.at('path').fail(`${p} is listed twice`);
      seen.add(p);
      return { path: p, size: e.at('size').int(), sha256: e.at('sha256').string(SHA256_HEX_PATTERN), ...owned(e) };
    });
  const dirs = o
    .at('dirs')
    .list()
    .map((e) => ({ path: safeRel(e.at('path')), ...owned(e) }));
  const named = (k: 'hooks' | 'dumps') =>
    o
      .at(k)
      .list()
      .map((e) => {
        const p = e.at('path').string();
        if (!seen.has(p)) e.at('path').fail(`${p} is not a file of the archive`);
        return { name: e.at('name').string(NAME), path: p };
      });
  const cp = o.at('checkpoint');
  const witnessed = o.at('witnessed');
  if (cp.isAbsent && witnessed.isAbsent)
    cp.fail('is missing (a log backup has a checkpoint, a witness backup what it cosigned)');
  const secrets = o.at('secrets');
  if (secrets.at('path').string() !== BACKUP_SECRETS) secrets.at('path').fail(`is not ${BACKUP_SECRETS}`);
  return {
    format: BACKUP_FORMAT,
    createdAt: o.at('createdAt').string(),
    tool: o.at('tool').string(),
    instance: o.at('instance').string(/^[a-z0-9][a-z0-9-]{0,30}$/),
    profile: o.at('profile').string(NAME),
    kind: kind as BackupManifest['kind'],
    origin: o.at('origin').string(),
    logKeyId: o.at('logKeyId').string(SHA256_HEX_PATTERN),
    ...(cp.isAbsent
      ? {}
      : {
          checkpoint: {
            size: cp.at('size').int(),
            rootHex: cp.at('rootHex').string(SHA256_HEX_PATTERN),
            note: cp.at('note').string(),
          },
        }),
    ...(witnessed.isAbsent
      ? {}
      : {
          witnessed: witnessed.list().map((e) => ({ origin: e.at('origin').string(), size: e.at('size').int() })),
        }),
    files,
    dirs,
    secrets: { path: BACKUP_SECRETS, files: secrets.at('files').int() },
    hooks: named('hooks'),
    dumps: named('dumps'),
  };
}

/** An archive of the format before backup.json was authenticated. */
export function unauthenticatedFormat(): AirgapError {
  return new AirgapError(
    'BACKUP_FORMAT_UNAUTHENTICATED',
    `this archive was written by a rekor-airgap older than this one (format ${BACKUP_FORMAT_UNAUTHENTICATED}): its passphrase vouches for the files but not for ${BACKUP_MANIFEST} ` +
      '(owners, modes, directories, checkpoint), so it is not restored. Take a new backup with this rekor-airgap; ' +
      "to recover from this archive itself, restore it with the rekor-airgap release that wrote it (its bundle's installer), then back up again with this one.",
  );
}
