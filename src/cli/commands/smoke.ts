import { promises as fsp } from 'node:fs';
import type { CommandModule } from 'yargs';
import { STACK_KINDS } from '../../stacks/kinds.js';
import { AirgapError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import type { SmokeReport } from '../../rekor/report.js';
import type { LogTarget } from '../../rekor/target.js';
import { type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';

interface Args extends CommonArgs {
  instance?: string;
  dataDir?: string;
  url?: string;
  ca?: string;
  logKey?: string;
  origin?: string;
  kind: string;
  connectTo?: string;
  output?: string;
}

export function smokeText(r: SmokeReport): string {
  return [
    `smoke test of ${r.url} (${r.kind}, origin ${r.origin}): ${r.ok ? 'PASSED' : 'FAILED'}`,
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ...(r.record ? [`  record: log index ${r.record.payload.rekor_log_index}, digest ${r.record.payload.digest}`] : []),
  ].join('\n') + '\n';
}

export const smokeCommand = {
  command: 'smoke',
  describe: 'submit entries to a log and verify inclusion proofs, checkpoints and consistency, over TLS pinned to its CA',
  builder: (y) => typed<Args>(withCommon(y)
    .option('instance', { coerce: lastValue, type: 'string', describe: 'an installed instance (reads its URL, CA, key and origin)' })
    .option('data-dir', { coerce: lastValue, type: 'string', describe: 'the instance directory, if not the default' })
    .option('url', { coerce: lastValue, type: 'string', describe: 'log URL, e.g. https://rekor.site.internal:3443 (with --ca, --log-key, --origin)' })
    .option('ca', { coerce: lastValue, type: 'string', describe: 'the only CA certificate (PEM) trusted for the log' })
    .option('log-key', { coerce: lastValue, type: 'string', describe: 'the log\'s public key (PEM)' })
    .option('origin', { coerce: lastValue, type: 'string', describe: 'checkpoint origin (v2) or hostname (v1) of the log' })
    .option('kind', { coerce: lastValue, choices: [...STACK_KINDS], default: 'rekor-v2', describe: 'which stack serves the log at --url' })
    .option('connect-to', { coerce: lastValue, type: 'string', describe: 'connect to this address instead of resolving the URL\'s host' })
    .option('output', { coerce: lastValue, type: 'string', describe: 'also write the JSON record to this file' })
    .example('$0 smoke --instance default --json', '')
    .example('$0 smoke --url https://rekor.site.internal:3443 --ca ca.crt --log-key log.pub --origin rekor.site.internal', '')),
  handler: async (args) => {
    const { logTargetOf } = await import('../../instance/log-target.js');
    const { requireState } = await import('../../instance/state.js');
    const { smokeFailure } = await import('../../rekor/smoke.js');
    const { stackFor } = await import('../../stacks/registry.js');
    let target: LogTarget;
    let kind = args.kind;
    let state: Awaited<ReturnType<typeof requireState>> | undefined;
    if (args.url) {
      if (!args.ca || !args.logKey || !args.origin) throw new AirgapError('USAGE_SMOKE_TARGET', '--url needs --ca, --log-key and --origin');
      const read = (f: string, what: string) => fsp.readFile(f, 'utf8').catch((e: Error) => { throw new AirgapError('USAGE_UNREADABLE', `cannot read ${what} ${f}: ${e.message}`); });
      target = { endpoint: { url: args.url, ca: await read(args.ca, '--ca'), connectAddress: args.connectTo }, logKeyPem: await read(args.logKey, '--log-key'), origin: args.origin, label: 'external' };
    } else {
      state = await requireState(args.instance ?? 'default', args.dataDir);
      kind = state.kind;
      target = await logTargetOf(state);
      if (args.connectTo) target.endpoint.connectAddress = args.connectTo;
    }
    const report = await stackFor(kind).smoke(target);
    const json = JSON.stringify({ ...(report.record ?? { event_type: 'transparency.checkpoint', payload: null }), ok: report.ok, checks: report.checks, entries: report.entries }, null, 2) + '\n';
    if (args.output) await writeFileAtomic(args.output, json);
    args.io.out(args.json ? json : smokeText(report));
    const failure = smokeFailure(report);
    if (failure) throw failure;
    if (state) {
      // The checkpoint the test ended on joins the instance's history (a fork fails here, loudly).
      const { observeLog } = await import('../../stacks/observe.js');
      const seen = await observeLog(state, stackFor(kind), target);
      if (!args.json) args.io.err(`checkpoint history: size ${seen.head.size} ${seen.history === 'known' ? 'already kept' : 'kept, consistent with the history'}`);
    }
  },
} satisfies CommandModule<object, Args>;
