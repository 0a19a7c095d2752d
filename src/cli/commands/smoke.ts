import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../../util/atomic-file.js';
import type { SmokeReport } from '../../rekor/report.js';
import { type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';
import { resolveLogTarget, withLogTarget, type LogTargetArgs } from '../log-target-args.js';

interface Args extends CommonArgs, LogTargetArgs {
  output?: string;
  readOnly: boolean;
}

export function smokeText(r: SmokeReport): string {
  return (
    [
      `smoke test of ${r.url} (${r.kind}, origin ${r.origin}): ${r.ok ? 'PASSED' : 'FAILED'}`,
      ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
      ...(r.record
        ? [`  record: log index ${r.record.payload.rekor_log_index}, digest ${r.record.payload.digest}`]
        : []),
    ].join('\n') + '\n'
  );
}

export const smokeCommand = {
  command: 'smoke',
  describe:
    'submit entries to a log and verify inclusion proofs, checkpoints and consistency, over TLS pinned to its CA',
  builder: (y) =>
    typed<Args>(
      withLogTarget(withCommon(y))
        .option('output', { coerce: lastValue, type: 'string', describe: 'also write the JSON record to this file' })
        .option('read-only', {
          type: 'boolean',
          default: false,
          describe:
            'write nothing: the checkpoint, inclusion proofs of the first and last entries, and for a shard rotated out its final checkpoint and a write refused',
        })
        .example('$0 smoke --instance old-shard --read-only', 'a log rotated out (log rotate) takes no entries')
        .example('$0 smoke --instance default --json', '')
        .example(
          '$0 smoke --url https://rekor.site.internal:3443 --ca ca.crt --log-key log.pub --origin rekor.site.internal',
          '',
        ),
    ),
  handler: async (args) => {
    const { smokeFailure } = await import('../../rekor/smoke.js');
    const { logStackFor, stackFor } = await import('../../stacks/registry.js');
    const { target, kind, state } = await resolveLogTarget(args);
    const stack = stackFor(kind);
    if (state?.readOnlySince && !args.readOnly) {
      const { AirgapError } = await import('../../errors.js');
      throw new AirgapError(
        'SMOKE_LOG_READ_ONLY',
        `instance ${state.instance} is read-only since ${state.readOnlySince}${state.rotatedTo ? ` (rotated to ${state.rotatedTo.instance}, ${state.rotatedTo.url})` : ''}: it takes no entries; prove it with smoke --read-only`,
      );
    }
    const { smokeReadOnly } = await import('../../stacks/read-only-smoke.js');
    // A witness instance has its own test (TLS, an unknown log refused, its test log cosigned).
    const report =
      stack.serves === 'witness' && state
        ? await stack.smoke(state)
        : args.readOnly
          ? await smokeReadOnly(logStackFor(kind), target, {
              frozen: !!state?.readOnlySince,
              final: state?.finalCheckpoint,
            })
          : await logStackFor(kind).smoke(target);
    const json =
      JSON.stringify(
        {
          ...(report.record ?? { event_type: 'transparency.checkpoint', payload: null }),
          ok: report.ok,
          checks: report.checks,
          entries: report.entries,
        },
        null,
        2,
      ) + '\n';
    if (args.output) await writeFileAtomic(args.output, json);
    args.io.out(args.json ? json : smokeText(report));
    const failure = smokeFailure(report);
    if (failure) throw failure;
    if (state && stack.serves === 'log') {
      // The checkpoint the test ended on joins the instance's history (a fork fails here, loudly).
      const { observeLog } = await import('../../stacks/observe.js');
      const seen = await observeLog(state, stack, target);
      if (!args.json)
        args.io.err(
          `checkpoint history: size ${seen.head.size} ${seen.history === 'known' ? 'already kept' : 'kept, consistent with the history'}`,
        );
    }
  },
} satisfies CommandModule<object, Args>;
