/**
 * A witness instance's own files: its signer key (made once, kept), the logs it cosigns
 * (`witness-logs.yaml`, omniwitness's --additional_logs), the key of the test log its smoke test
 * registers, and what its database says it has cosigned.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import yaml from 'js-yaml';
import { AirgapError } from '../errors.js';
import { noteVerifierKey } from '../tlog/note.js';
import { exists, writeFileAtomic } from '../util/atomic-file.js';
import { readSqliteTable } from '../util/sqlite-file.js';
import { printable } from '../util/untrusted-text.js';
import { generateWitnessSigner, parseWitnessSigner } from '../witness/witness-key.js';
import { instancePaths, type InstancePaths } from './layout.js';
import { writeSecret } from './secrets.js';

/** A log the witness cosigns: its checkpoint origin, its note verifier key, where it is (informative). */
export interface WitnessLog {
  origin: string;
  /** The log's note verifier key, `<name>+<hex8>+<base64>` (src/rekor/note.ts noteVerifierKey). */
  vkey: string;
  url: string;
}

export interface WitnessSignerFacts {
  name: string;
  /** The cosignature/v1 vkey clients put in their policy. */
  vkey: string;
  publicKey: KeyObject;
  created: boolean;
}

/** The signer key omniwitness reads: made at the first install under `name`, kept after (0600, `uid`'s). */
export async function ensureWitnessSigner(p: InstancePaths, name: string, uid: number): Promise<WitnessSignerFacts> {
  let created = false;
  if (!(await exists(p.witnessKey))) {
    await writeSecret(p.witnessKey, generateWitnessSigner(name).signerKey + '\n', uid);
    created = true;
  }
  const signer = parseWitnessSigner(await fsp.readFile(p.witnessKey, 'utf8'));
  if (signer.name !== name)
    throw new AirgapError(
      'INSTALL_KEY_CHANGED',
      `the witness key in ${p.witnessKey} signs as ${printable(signer.name)}; this install names the witness ${printable(name)} (a witness never changes its name)`,
    );
  return { name, vkey: signer.vkey, publicKey: createPublicKey(signer.privateKey), created };
}

/** The origin of the test log the smoke test of instance `instance` registers. */
export function smokeLogOrigin(instance: string): string {
  return `rekor-airgap-smoke/${instance}`;
}

/** The smoke test's own log: an Ed25519 key kept in the secrets (root's, 0600), and its entry. */
export async function ensureSmokeLog(p: InstancePaths, instance: string): Promise<{ key: KeyObject; log: WitnessLog }> {
  if (!(await exists(p.witnessSmokeLogKey))) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeSecret(p.witnessSmokeLogKey, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  const key = createPrivateKey(await fsp.readFile(p.witnessSmokeLogKey));
  const origin = smokeLogOrigin(instance);
  return { key, log: { origin, vkey: noteVerifierKey(origin, createPublicKey(key)), url: '' } };
}

const LOGS_HEADER = [
  '# The logs this witness cosigns (omniwitness --additional_logs). Written by rekor-airgap:',
  '# add one with `rekor-airgap witness add-log`; the witness reads this file when it starts.',
  '# A log keeps the key it was first registered with (the witness database keeps the first).',
].join('\n');

/** The file's text: origin, note verifier key and URL of each log, sorted by origin. */
export function formatWitnessLogs(logs: readonly WitnessLog[]): string {
  const sorted = [...logs].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  const doc = { Logs: sorted.map((l) => ({ Origin: l.origin, PublicKey: l.vkey, URL: l.url })) };
  return `${LOGS_HEADER}\n${yaml.dump(doc, { lineWidth: -1, quotingType: '"', forceQuotes: true })}`;
}

/** The file's logs, or a coded error naming the file and entry. */
export function parseWitnessLogs(text: string, file: string): WitnessLog[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new AirgapError('WITNESS_LOGS_INVALID', `${file}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  const list = (doc as { Logs?: unknown } | null)?.Logs ?? [];
  if (!Array.isArray(list)) throw new AirgapError('WITNESS_LOGS_INVALID', `${file}: Logs must be a list`);
  return list.map((l: unknown, i) => {
    const o = (l ?? {}) as Record<string, unknown>;
    const [origin, vkey, url = ''] = [o.Origin, o.PublicKey, o.URL ?? ''];
    if (typeof origin !== 'string' || typeof vkey !== 'string' || typeof url !== 'string' || !origin)
      throw new AirgapError('WITNESS_LOGS_INVALID', `${file}: Logs[${i}] needs Origin and PublicKey (text)`);
    return { origin, vkey, url };
  });
}

export async function readWitnessLogs(p: InstancePaths): Promise<WitnessLog[]> {
  const text = await fsp.readFile(p.witnessLogs, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw new AirgapError('WITNESS_LOGS_INVALID', `cannot read ${p.witnessLogs}: ${e.message}`, { cause: e });
  });
  return parseWitnessLogs(text, p.witnessLogs);
}

export async function writeWitnessLogs(p: InstancePaths, logs: readonly WitnessLog[]): Promise<void> {
  await writeFileAtomic(p.witnessLogs, formatWitnessLogs(logs), 0o644);
}

/**
 * The list with `log` in it: unchanged when it is there already (same origin, same key; a new URL
 * replaces the old). A known origin with another key is refused: the witness would keep the first.
 */
export function withWitnessLog(logs: readonly WitnessLog[], log: WitnessLog): { logs: WitnessLog[]; changed: boolean } {
  checkWitnessLog(log);
  const same = logs.find((l) => l.origin === log.origin);
  if (!same) return { logs: [...logs, log], changed: true };
  if (same.vkey !== log.vkey)
    throw new AirgapError(
      'WITNESS_LOG_CONFLICT',
      `the witness already cosigns ${printable(log.origin)} with key ${printable(same.vkey)}; it keeps the key a log was first registered with (asked: ${printable(log.vkey)})`,
    );
  if (same.url === log.url) return { logs: [...logs], changed: false };
  return { logs: logs.map((l) => (l.origin === log.origin ? log : l)), changed: true };
}

/** Origin one line of text; vkey a note verifier key `<name>+<hex8>+<base64>`; URL empty or http(s). */
export function checkWitnessLog(log: WitnessLog): void {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!log.origin || /[\n\r\u0000-\u001f\u007f]/.test(log.origin) || log.origin !== log.origin.trim())
    throw new AirgapError('USAGE_INVALID', `origin ${JSON.stringify(printable(log.origin))} must be one line of text`);
  if (!/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/.test(log.vkey))
    throw new AirgapError(
      'USAGE_BAD_LOG_KEY',
      `${JSON.stringify(printable(log.vkey))} is not a note verifier key (<name>+<8 hex digits>+<base64>)`,
    );
  if (log.url && !/^https?:\/\/[^\s]+$/.test(log.url))
    throw new AirgapError('USAGE_INVALID', `log URL ${JSON.stringify(printable(log.url))} must be http(s)://…`);
}

/**
 * Per log origin, the size of the latest checkpoint the witness cosigned, as its database (and
 * write-ahead log) under `dataDir` records it: empty when it has none yet.
 */
export async function readWitnessedSizes(dataDir: string): Promise<Map<string, number>> {
  const file = instancePaths(dataDir).witnessDb;
  const db = await fsp.readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new AirgapError('WITNESS_DB_UNREADABLE', `cannot read ${file}: ${e.message}`, { cause: e });
  });
  const sizes = new Map<string, number>();
  if (!db) return sizes;
  const wal = await fsp.readFile(`${file}-wal`).catch(() => undefined);
  const rows = readSqliteTable(db, wal, 'chkpts', { what: file, code: 'WITNESS_DB_UNREADABLE' }) ?? [];
  for (const [, chkpt] of rows) {
    const text = chkpt instanceof Uint8Array ? Buffer.from(chkpt).toString('utf8') : String(chkpt);
    const [origin, size] = text.split('\n');
    if (!origin || !size || !/^\d{1,16}$/.test(size))
      throw new AirgapError(
        'WITNESS_DB_UNREADABLE',
        `${file} holds a checkpoint that is not one: ${printable(text.slice(0, 80))}`,
      );
    sizes.set(origin, Number(size));
  }
  return sizes;
}
