/**
 * The smoke test of a log that must not be written to: a shard rotated out (read-only), or a log
 * proved without adding entries. The checkpoint under the log key, the checkpoint it must still
 * serve (a frozen shard's last), inclusion proofs of its first and last entries into that
 * checkpoint, and, for a read-only log, that it refuses a write. The caller records the checkpoint
 * in the instance's history, which proves it consistent with every one kept before.
 */
import { AirgapError } from '../errors.js';
import { CheckRun } from '../rekor/checks.js';
import type { LogHead } from '../rekor/log-head.js';
import type { SmokeReport } from '../rekor/report.js';
import type { LogTarget } from '../rekor/target.js';
import type { LogStack } from './stack.js';

export interface ReadOnlySmokeOptions {
  /** The log is switched read-only: a write must be refused. */
  frozen: boolean;
  /** The checkpoint it must still serve (recorded when it was rotated out). */
  final?: { size: number; rootHex: string } | undefined;
}

function checkFinal(head: LogHead, final: { size: number; rootHex: string }): [undefined, string] {
  if (head.size > final.size)
    throw new AirgapError(
      'SMOKE_LOG_WRITABLE',
      `the log grew after it was rotated out: it serves size ${head.size}, its final checkpoint was size ${final.size}`,
    );
  if (head.size !== final.size || head.rootHex !== final.rootHex)
    throw new AirgapError(
      'SMOKE_PROOF_ROLLBACK',
      `the log serves size ${head.size} (root ${head.rootHex}); its final checkpoint was size ${final.size} (root ${final.rootHex})`,
    );
  return [undefined, `size ${head.size}, root ${head.rootHex}`];
}

export async function smokeReadOnly(stack: LogStack, t: LogTarget, o: ReadOnlySmokeOptions): Promise<SmokeReport> {
  const run = new CheckRun();
  const report: SmokeReport = {
    ok: false,
    kind: stack.kind === 'rekor-v1' ? 'rekor-v1' : 'rekor-v2',
    url: t.endpoint.url,
    origin: t.origin,
    checks: run.checks,
    entries: [],
  };
  try {
    const head = await run.step('checkpoint signed by the log key (read over TLS, pinned CA)', async () => {
      const h = await stack.readHead(t);
      return [h, `size ${h.size}, root ${h.rootHex}`];
    });
    if (o.final) {
      const final = o.final;
      await run.step('the final checkpoint of the shard is what it serves', () => checkFinal(head, final));
    }
    for (const index of [...new Set([0, head.size - 1])].filter((i) => i >= 0)) {
      await run.step(`entry ${index} proved into the checkpoint (no entry written)`, async () => {
        const e = await stack.readEntry(t, index);
        report.entries.push({ logIndex: index, canonicalizedBody: e.body.toString('base64') });
        return [undefined, `${e.kind}, sha256:${e.digestHex}, ${e.proofHashes} proof hashes`];
      });
    }
    if (o.frozen) {
      const sw = stack.readOnlySwitch;
      if (!sw) throw new AirgapError('ROTATE_UNSUPPORTED_STACK', `the ${stack.title} stack has no read-only switch`);
      await run.step('writes refused (read-only)', async () => [undefined, await sw.writesRefused(t)]);
    }
    report.ok = true;
  } catch (e) {
    if (!run.failure) run.record('response from the log', e);
  }
  return report;
}
