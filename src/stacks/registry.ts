/** The stack modules this tool knows, by the `kind:` a profile names. */
import { AirgapError } from '../errors.js';
import { rekorV1Stack } from './rekor-v1.js';
import { rekorV2Stack } from './rekor-v2.js';
import type { LogStack, Stack } from './stack.js';
import { witnessStack } from './witness.js';
import { STACK_KINDS } from './kinds.js';

const STACKS: readonly Stack[] = [rekorV2Stack, rekorV1Stack, witnessStack];
if (STACKS.map((s) => s.kind).join() !== STACK_KINDS.join())
  throw new AirgapError('INTERNAL_BUG', 'stacks/kinds.ts and stacks/registry.ts disagree');

export function stackKinds(): string[] {
  return STACKS.map((s) => s.kind);
}

export function stackFor(kind: string): Stack {
  const s = STACKS.find((x) => x.kind === kind);
  if (!s)
    throw new AirgapError(
      'USAGE_UNKNOWN_STACK',
      `no stack module for kind ${JSON.stringify(kind)} (known: ${stackKinds().join(', ')})`,
    );
  return s;
}

/** The stack of an instance that must serve a log (log reads, proofs, trust files); a witness has none. */
export function logStackFor(kind: string, instance?: string): LogStack {
  const s = stackFor(kind);
  if (s.serves !== 'log')
    throw new AirgapError(
      'USAGE_NOT_A_LOG',
      `${instance ? `instance ${instance}` : `a ${kind} instance`} is a ${s.title}: it serves no log of its own (status, smoke and backup work on it; log reads do not)`,
    );
  return s;
}
