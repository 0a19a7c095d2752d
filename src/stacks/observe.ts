/**
 * Reads an instance's current checkpoint (verified with its key) and records it in the checkpoint
 * history, proving it consistent with what the instance has seen before.
 */
import type { LogHead } from '../rekor/log-head.js';
import type { LogTarget } from '../rekor/target.js';
import type { LogStack } from './stack.js';
import { recordCheckpoint, type RecordOutcome } from '../instance/checkpoint-history.js';
import { instancePaths } from '../instance/layout.js';
import { logTargetOf } from '../instance/log-target.js';
import type { InstanceState } from '../instance/state.js';

export interface Observed {
  head: LogHead;
  history: RecordOutcome;
}

export async function observeLog(state: InstanceState, stack: LogStack, target?: LogTarget): Promise<Observed> {
  const t = target ?? (await logTargetOf(state));
  const head = await stack.readHead(t);
  const history = await recordCheckpoint(instancePaths(state.dataDir).checkpoints, head, (from, to) =>
    stack.proveConsistency(t, from, to),
  );
  return { head, history };
}
