/**
 * A small Rekor v2 instance on disk and real backup archives of it, written by the backup's own
 * code (writeArchive, the archive writer, the age seal) with a low scrypt work factor; and ways to
 * take an archive apart and put it back together with one entry changed, the way an attacker with
 * the archive but not the passphrase would.
 */
import { DEFAULT_SERVING_LIMITS } from '../../src/instance/serving-limits.js';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Encrypter } from 'age-encryption';
import { BackupArchiveWriter } from '../../src/backup/archive.js';
import { writeArchive } from '../../src/backup/backup.js';
import { instancePaths } from '../../src/instance/layout.js';
import type { InstanceState } from '../../src/instance/state.js';
import { formatCheckpointBody, signNote } from '../../src/tlog/note.js';
import type { LogHead } from '../../src/rekor/log-head.js';
import { rekorV2Stack } from '../../src/stacks/rekor-v2.js';
import { silentProgress } from '../../src/util/progress.js';
import { parseTar, TAR_END, tarFileHeader, tarPadding } from '../../src/util/tar.js';

export const PASS = 'correct horse battery staple';
/** Low work factor: unit tests open archives hundreds of times. Backups use age's 2^18. */
export const TEST_SCRYPT_LOG_N = 4;

export interface FixtureInstance {
  dataDir: string;
  state: InstanceState;
  head: LogHead;
}

/** A Rekor v2 instance's files (no services): state, key, TLS, configuration, a few tiles. */
export function makeInstance(dir: string, name = 'default', state: Partial<InstanceState> = {}): FixtureInstance {
  const dataDir = path.join(dir, name);
  const p = instancePaths(dataDir);
  const origin = `${name}.rekor.test`;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const root = createHash('sha256').update('root').digest();
  const note = signNote(
    formatCheckpointBody({ origin, size: 3, rootHash: new Uint8Array(root), extensions: [] }),
    origin,
    privateKey,
  );
  const head: LogHead = { size: 3, rootHex: root.toString('hex'), checkpoint: note };
  const s: InstanceState = {
    instance: name,
    profile: 'rekor-v2',
    kind: 'rekor-v2',
    project: `rekor-airgap-${name}`,
    dataDir,
    hostname: origin,
    origin,
    httpsPort: 8443,
    bindAddress: '127.0.0.1',
    url: `https://${origin}:8443`,
    checkpointInterval: '2s',
    limits: { ...DEFAULT_SERVING_LIMITS },
    stack: {},
    logPublicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    logKeyId: 'c'.repeat(64),
    bundle: { createdAt: '2026-01-01T00:00:00Z', manifestSha256: 'd'.repeat(64), release: 2 },
    highestRelease: 2,
    images: { rekor: { ref: 'registry.test/rekor-tiles:v2.4.2', configDigest: `sha256:${'e'.repeat(64)}` } },
    installedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...state,
  };
  const file = (f: string, text: string | Buffer, mode = 0o644, uid = 0) => {
    mkdirSync(path.dirname(f), { recursive: true, mode: 0o755 });
    writeFileSync(f, text);
    chmodSync(f, mode);
    chownSync(f, uid, uid);
  };
  for (const d of [p.dataDir, p.config, p.scripts, p.tls, p.templates, p.log])
    mkdirSync(d, { recursive: true, mode: 0o755 });
  mkdirSync(p.secrets, { mode: 0o711 });
  chownSync(p.log, 65532, 65532);
  file(p.state, JSON.stringify(s, null, 2));
  file(p.logPublicKey, s.logPublicKeyPem);
  file(p.logSigner, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600, 65532);
  file(p.backupPassphrase, PASS, 0o600);
  file(p.serverCert, 'CERT', 0o644);
  file(p.serverKey, 'TLS KEY', 0o600);
  file(p.compose, 'services: {}\n');
  file(path.join(p.templates, 'compose.yaml'), 'services: {}\n');
  file(path.join(p.scripts, 'backup.sh'), '#!/bin/sh\n', 0o755);
  file(path.join(p.log, 'checkpoint'), note, 0o644, 65532);
  file(path.join(p.log, 'tile/0/000.p/3'), randomBytes(96), 0o644, 65532);
  chownSync(path.join(p.log, 'tile'), 65532, 65532);
  return { dataDir, state: s, head };
}

/** A backup of `inst` at `out`, as `rekor-airgap backup` writes it. */
export async function backupOf(inst: FixtureInstance, out: string): Promise<string> {
  const w = await BackupArchiveWriter.open(out);
  await writeArchive(w, {
    state: inst.state,
    paths: instancePaths(inst.dataDir),
    stack: rekorV2Stack,
    head: inst.head,
    extra: { dumps: [], hooks: [] },
    passphrase: PASS,
    progress: silentProgress,
    scryptLogN: TEST_SCRYPT_LOG_N,
  });
  return out;
}

export interface TarEntry {
  path: string;
  bytes: Buffer;
}

export async function readEntries(archive: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  await parseTar(
    (async function* () {
      yield readFileSync(archive);
    })(),
    (h) => {
      const parts: Buffer[] = [];
      return {
        write: (c) => {
          parts.push(Buffer.from(c));
        },
        end: () => {
          entries.push({ path: h.path, bytes: Buffer.concat(parts) });
        },
      };
    },
  );
  return entries;
}

/** The tar the backup writes (0600 headers, mtime 0), from entries. */
export function writeEntries(out: string, entries: readonly TarEntry[]): string {
  writeFileSync(
    out,
    Buffer.concat([
      ...entries.flatMap((e) => [tarFileHeader(e.path, e.bytes.length, 0o600, 0), e.bytes, tarPadding(e.bytes.length)]),
      TAR_END,
    ]),
    { mode: 0o600 },
  );
  return out;
}

/** Rewrites one entry of an archive (the others byte for byte as they were). */
export async function rewriteEntry(
  archive: string,
  out: string,
  name: string,
  edit: (b: Buffer) => Buffer,
): Promise<string> {
  const entries = await readEntries(archive);
  if (!entries.some((e) => e.path === name)) throw new Error(`${archive} has no ${name}`);
  return writeEntries(
    out,
    entries.map((e) => (e.path === name ? { path: name, bytes: edit(e.bytes) } : e)),
  );
}

/** A sealed part holding exactly `files` (secrets.json among them, as given), sealed with `passphrase`. */
export async function sealRaw(files: readonly TarEntry[], passphrase = PASS): Promise<Buffer> {
  return sealBytes(
    Buffer.concat([
      ...files.flatMap((e) => [tarFileHeader(e.path, e.bytes.length, 0o600, 0), e.bytes, tarPadding(e.bytes.length)]),
      TAR_END,
    ]),
    passphrase,
  );
}

/** Any bytes sealed with `passphrase` in age's format, as the sealed part of a backup. */
export async function sealBytes(tar: Uint8Array, passphrase = PASS): Promise<Buffer> {
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  e.setScryptWorkFactor(TEST_SCRYPT_LOG_N);
  return Buffer.from(await e.encrypt(new Uint8Array(tar)));
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
