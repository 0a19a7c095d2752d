/**
 * What the monitor keeps between runs, in its state directory: `checkpoints/` (the checkpoint
 * history, kept by the one history implementation, src/instance/checkpoint-history.ts) and
 * `monitor.json`: the next entry index to scan, when a fresh checkpoint last appeared, the last
 * cosignature time of each witness, and the alerts raised by the last run. Written atomically.
 */
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { isMissingFile, readRegularFile } from '../util/bounded-read.js';
import { readUntrustedJson } from '../util/untrusted-json.js';

export interface MonitorState {
  /** When the monitor first ran on this log (unix ms): the start of every "not seen since". */
  firstRunAt: number;
  lastRunAt?: number;
  /** The first entry not yet scanned. */
  nextIndex: number;
  /** SHA-256 (hex) of the last checkpoint note seen, and when it first appeared (unix ms). */
  lastNoteSha256?: string;
  lastFreshAt?: number;
  /** The log's size at the last run. */
  lastSize?: number;
  /** Witness name → time of its newest valid cosignature seen (unix seconds, the witness's own clock). */
  witnesses: Record<string, number>;
  /** Alert keys (events.ts alertKey) raised by the last run. */
  active: string[];
}

export function monitorStatePaths(stateDir: string) {
  return { file: path.join(stateDir, 'monitor.json'), checkpoints: path.join(stateDir, 'checkpoints') };
}

export function freshState(now: number): MonitorState {
  return { firstRunAt: now, nextIndex: 0, witnesses: {}, active: [] };
}

/** The kept state, or a fresh one when the directory has none yet. */
export async function readMonitorState(stateDir: string, now: number): Promise<MonitorState> {
  const file = monitorStatePaths(stateDir).file;
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, 1024 * 1024, 'MONITOR_STATE_CORRUPT', 'the monitor state');
  } catch (e) {
    if (isMissingFile(e)) return freshState(now);
    throw e;
  }
  const v = readUntrustedJson(bytes, { what: file, code: 'MONITOR_STATE_CORRUPT' });
  const witnesses: Record<string, number> = {};
  const w = v.at('witnesses');
  for (const name of w.isAbsent ? [] : w.keys()) witnesses[name] = w.at(name).int();
  const opt = (k: string) => v.at(k).optInt();
  const s: MonitorState = {
    firstRunAt: v.at('firstRunAt').int(),
    nextIndex: v.at('nextIndex').int(),
    witnesses,
    active: v
      .at('active')
      .optList()
      .map((a) => a.string()),
  };
  const lastRunAt = opt('lastRunAt');
  if (lastRunAt !== undefined) s.lastRunAt = lastRunAt;
  const lastFreshAt = opt('lastFreshAt');
  if (lastFreshAt !== undefined) s.lastFreshAt = lastFreshAt;
  const lastSize = opt('lastSize');
  if (lastSize !== undefined) s.lastSize = lastSize;
  const note = v.at('lastNoteSha256').optString(/^[0-9a-f]{64}$/);
  if (note !== undefined) s.lastNoteSha256 = note;
  if (s.nextIndex > Number.MAX_SAFE_INTEGER) throw new AirgapError('MONITOR_STATE_CORRUPT', `${file}: bad nextIndex`);
  return s;
}

export async function writeMonitorState(stateDir: string, s: MonitorState): Promise<void> {
  await writeFileAtomic(monitorStatePaths(stateDir).file, JSON.stringify(s, null, 2) + '\n', 0o644);
}
