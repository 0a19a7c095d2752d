/**
 * The checkpoints an instance has seen, kept as the log signed them in `checkpoints/`, one file per
 * tree size. A checkpoint joins the history only when a consistency proof from the largest kept
 * one verifies; a smaller or inconsistent one is a fork: refused loudly, never kept over the good
 * history. Install, smoke, status, backup, restore and upgrade all record through here.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import { parseCheckpointBody, parseSignedNote } from '../tlog/note.js';
import type { LogHead } from '../rekor/log-head.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface KeptCheckpoint extends LogHead {
  file: string;
}

const NAME = /^(\d{20})-([0-9a-f]{64})\.note$/;

export function checkpointFileName(head: Pick<LogHead, 'size' | 'rootHex'>): string {
  return `${String(head.size).padStart(20, '0')}-${head.rootHex}.note`;
}

/** Size and root of a signed checkpoint note (the signature was checked when it was first kept). */
export function headOfNote(note: string): LogHead {
  const cp = parseCheckpointBody(parseSignedNote(note).text);
  return { size: cp.size, rootHex: Buffer.from(cp.rootHash).toString('hex'), checkpoint: note };
}

/** Every kept checkpoint, smallest first. A file whose name does not match its note is corruption. */
export async function readHistory(dir: string): Promise<KeptCheckpoint[]> {
  const names = await fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const kept: KeptCheckpoint[] = [];
  for (const name of names.sort()) {
    const m = NAME.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    let head: LogHead;
    try {
      head = headOfNote(await fsp.readFile(file, 'utf8'));
    } catch (e) {
      throw new AirgapError('LOG_HISTORY_CORRUPT', `${file} is not a signed checkpoint: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (head.size !== Number(m[1]) || head.rootHex !== m[2]) {
      throw new AirgapError(
        'LOG_HISTORY_CORRUPT',
        `${file} holds the checkpoint of size ${head.size}, root ${head.rootHex}: not the one its name says`,
      );
    }
    kept.push({ ...head, file });
  }
  return kept;
}

export function largest(history: readonly LogHead[]): LogHead | undefined {
  return history.reduce<LogHead | undefined>((a, h) => (!a || h.size > a.size ? h : a), undefined);
}

/** Proves that `to` extends `from` (same log, nothing rewritten); throws when it does not. */
export type ConsistencyProver = (from: LogHead, to: LogHead) => Promise<void>;

export type RecordOutcome = 'first' | 'kept' | 'known';

export function forkError(seen: LogHead, kept: LogHead, why: string, cause?: unknown): AirgapError {
  return new AirgapError(
    'LOG_FORK',
    `FORK: the log now serves a checkpoint of size ${seen.size} (root ${seen.rootHex}), ${why} the checkpoint of size ${kept.size} (root ${kept.rootHex}) it signed before. ` +
      'Clients that saw the earlier checkpoint will reject this log. Stop writes, find out what changed (a restore of an old backup, a replaced disk, another log under the same key), and do not discard the history in checkpoints/.',
    {
      ...(cause === undefined ? {} : { cause }),
      details: { seen: { size: seen.size, rootHex: seen.rootHex }, kept: { size: kept.size, rootHex: kept.rootHex } },
    },
  );
}

/**
 * Adds `head` (a checkpoint whose signature the caller verified with the instance's key) to the
 * history in `dir`, after proving it consistent with the largest kept checkpoint.
 */
export async function recordCheckpoint(dir: string, head: LogHead, prove: ConsistencyProver): Promise<RecordOutcome> {
  const history = await readHistory(dir);
  const top = largest(history);
  const sameSize = history.filter((h) => h.size === head.size);
  const other = sameSize.find((h) => h.rootHex !== head.rootHex);
  if (other) throw forkError(head, other, 'the same size with another root than');
  if (top) {
    if (head.size < top.size) throw forkError(head, top, 'smaller than');
    if (sameSize.length) return 'known';
    try {
      await prove(top, head);
    } catch (e) {
      throw forkError(head, top, `not consistent (${(e as Error).message}) with`, e);
    }
  }
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(path.join(dir, checkpointFileName(head)), head.checkpoint, 0o644);
  return top ? 'kept' : 'first';
}
