import { generateKeyPairSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  readHistory,
  recordCheckpoint,
  type ConsistencyProver,
} from '../../../src/instance/checkpoint-history.js';
import {
  memorySubtreeHasher,
  rfc6962ConsistencyProof,
  rfc6962LeafHash,
  verifyRfc9162Consistency,
} from '../../../src/rekor/merkle.js';
import { formatCheckpointBody, signNote } from '../../../src/tlog/note.js';
import type { LogHead } from '../../../src/rekor/log-head.js';
import { tempDir } from '../../helpers/fixtures.js';

const origin = 'log.example';
const { privateKey } = generateKeyPairSync('ed25519');

/** A log in memory: its checkpoints, and a prover that builds real RFC 6962 proofs from its leaves. */
function memoryLog(prefix: string) {
  const leaves: Uint8Array[] = [];
  const add = (n: number) => {
    for (let i = 0; i < n; i++) leaves.push(rfc6962LeafHash(Buffer.from(`${prefix}${leaves.length}`)));
  };
  const head = async (): Promise<LogHead> => {
    const root = await memorySubtreeHasher(leaves)(0, leaves.length);
    const note = signNote(
      formatCheckpointBody({ origin, size: leaves.length, rootHash: root, extensions: [] }),
      origin,
      privateKey,
    );
    return { size: leaves.length, rootHex: Buffer.from(root).toString('hex'), checkpoint: note };
  };
  const prove: ConsistencyProver = async (from, to) => {
    const proof = await rfc6962ConsistencyProof(from.size, to.size, memorySubtreeHasher(leaves.slice(0, to.size)));
    verifyRfc9162Consistency(
      from.size,
      to.size,
      proof,
      Buffer.from(from.rootHex, 'hex'),
      Buffer.from(to.rootHex, 'hex'),
    );
  };
  return { add, head, prove };
}

describe('checkpoint history', () => {
  it('keeps a growing log, proving each checkpoint from the largest kept', async () => {
    const dir = path.join(tempDir(), 'checkpoints');
    const log = memoryLog('a');
    log.add(3);
    expect(await recordCheckpoint(dir, await log.head(), log.prove)).toBe('first');
    expect(await recordCheckpoint(dir, await log.head(), log.prove)).toBe('known');
    log.add(5);
    expect(await recordCheckpoint(dir, await log.head(), log.prove)).toBe('kept');
    const kept = await readHistory(dir);
    expect(kept.map((k) => k.size)).toEqual([3, 8]);
    expect(path.basename(kept[1]!.file)).toBe(checkpointFileName(kept[1]!));
    expect(kept[1]!.checkpoint).toBe((await log.head()).checkpoint);
  });

  it('refuses a smaller checkpoint, another root at the same size, and an inconsistent larger one (LOG_FORK), keeping the history', async () => {
    const dir = path.join(tempDir(), 'checkpoints');
    const good = memoryLog('a');
    good.add(4);
    const small = await good.head();
    good.add(4);
    await recordCheckpoint(dir, await good.head(), good.prove);
    await expect(recordCheckpoint(dir, small, good.prove)).rejects.toMatchObject({ code: 'LOG_FORK' });
    const other = memoryLog('b');
    other.add(8);
    await expect(recordCheckpoint(dir, await other.head(), other.prove)).rejects.toMatchObject({ code: 'LOG_FORK' });
    other.add(4);
    // A larger tree of other leaves: its own prover cannot prove it from the kept root.
    const err = await recordCheckpoint(dir, await other.head(), other.prove).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LOG_FORK' });
    expect(String((err as Error).message)).toMatch(/size 12.*not consistent.*size 8/);
    expect((await readHistory(dir)).map((k) => k.size)).toEqual([8]);
  });

  it('a second root at a kept size is a fork, even when a larger checkpoint sits beside it', async () => {
    const dir = path.join(tempDir(), 'checkpoints');
    const good = memoryLog('a');
    good.add(4);
    await recordCheckpoint(dir, await good.head(), good.prove);
    const other = memoryLog('b');
    other.add(4);
    // Another history's checkpoint of the same size, put beside the good one (a restored copy).
    const o = await other.head();
    await fsp.writeFile(path.join(dir, checkpointFileName(o)), o.checkpoint);
    await expect(recordCheckpoint(dir, await good.head(), good.prove)).rejects.toMatchObject({ code: 'LOG_FORK' });
  });

  it('calls a renamed or altered history file corrupt', async () => {
    const dir = path.join(tempDir(), 'checkpoints');
    const log = memoryLog('a');
    log.add(2);
    await recordCheckpoint(dir, await log.head(), log.prove);
    const [k] = await readHistory(dir);
    await fsp.rename(k!.file, path.join(dir, checkpointFileName({ size: 9, rootHex: k!.rootHex })));
    await expect(readHistory(dir)).rejects.toMatchObject({ code: 'LOG_HISTORY_CORRUPT' });
  });
});
