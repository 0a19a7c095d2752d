import path from 'node:path';
import type { CommandModule } from 'yargs';
import { AirgapError } from '../../errors.js';
import type { AlertEvent } from '../../monitor/events.js';
import type { MonitorContext, MonitorRun } from '../../monitor/run.js';
import { parseDuration } from '../../util/duration.js';
import { resolveLogTarget, withLogTarget, type LogTargetArgs } from '../log-target-args.js';
import { printResult, type CommonArgs } from '../output.js';
import { lastValue, typed, withCommon } from '../options.js';

interface Args extends CommonArgs, LogTargetArgs {
  once: boolean;
  interval: string;
  stateDir?: string;
  witnessPolicy?: string;
  watchKey: string[];
  watchDigest: string[];
  staleAfter: string;
  alertCommand?: string;
  alertTimeout: string;
  textfile?: string;
  maxEntries: number;
}

function runJson(run: MonitorRun, deliveries: string[]) {
  return {
    ok: run.alerts.length === 0 && !run.error,
    at: run.at.toISOString(),
    ...(run.head ? { size: run.head.size, rootHex: run.head.rootHex } : {}),
    ...(run.history ? { history: run.history } : {}),
    ...(run.quorum
      ? { quorum: { satisfied: run.quorum.satisfied, rule: run.quorum.rule, missing: run.quorum.missing } }
      : {}),
    ...(run.scanned ? { scanned: run.scanned } : {}),
    nextIndex: run.state.nextIndex,
    witnesses: run.state.witnesses,
    alerts: run.alerts,
    ...(run.error
      ? { error: { code: (run.error as AirgapError).code ?? 'INTERNAL_BUG', message: run.error.message } }
      : {}),
    ...(deliveries.length ? { alertCommand: deliveries } : {}),
  };
}

const HISTORY_WORDS = {
  first: 'the first checkpoint kept',
  kept: 'new, consistent with the kept history',
  known: 'no new checkpoint',
} as const;

function runText(run: MonitorRun, deliveries: string[]): string {
  const head = run.head
    ? `size ${run.head.size}, root ${run.head.rootHex}${run.history ? ` (${HISTORY_WORDS[run.history]})` : ''}`
    : `not read${run.error ? `: ${run.error.message}` : ''}`;
  return [
    `monitor ${run.at.toISOString()}: ${run.alerts.length ? `${run.alerts.length} ALERT(S)` : run.error ? 'log unreachable' : 'ok'}`,
    `  checkpoint: ${head}`,
    ...(run.quorum ? [`  quorum:     ${run.quorum.satisfied ? 'met' : 'NOT met'} (${run.quorum.rule})`] : []),
    ...(run.scanned ? [`  entries:    ${run.scanned.from} to ${run.scanned.to - 1} scanned`] : []),
    ...run.alerts.map((a) => `  ALERT ${a.kind}${a.witness ? ` (${a.witness})` : ''}: ${a.detail}`),
    ...deliveries.map((d) => `  alert command: ${d}`),
  ].join('\n');
}

/** Everything a run needs that does not change between runs. */
async function monitorContext(args: Args): Promise<{ ctx: MonitorContext; label: string }> {
  const { logStackFor } = await import('../../stacks/registry.js');
  const { loadWatchList } = await import('../../monitor/watch.js');
  const { target, kind, state } = await resolveLogTarget(args);
  const stack = logStackFor(kind, state?.instance);
  const stateDir = args.stateDir ?? (state ? path.join(state.dataDir, 'monitor') : undefined);
  if (!stateDir)
    throw new AirgapError('USAGE_INVALID', '--url needs --state-dir (where the monitor keeps what it saw)');
  // The policy (--witness-policy, or the instance's own) is judged here, into alerts: the reads
  // themselves must not stop at a lost quorum.
  const policy = target.witnessPolicy;
  delete target.witnessPolicy;
  delete target.witnessLastSeen;
  if (policy && stack.apiVersion === 1 && args.witnessPolicy)
    throw new AirgapError(
      'USAGE_INVALID',
      'a Rekor v1 log serves no witness cosignatures with its checkpoint: --witness-policy applies to Rekor v2 logs',
    );
  const maxEntries = Math.floor(args.maxEntries);
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0)
    throw new AirgapError('USAGE_INVALID', `--max-entries ${args.maxEntries} is not a whole number of entries`);
  const ctx: MonitorContext = {
    stack,
    target,
    subject: state
      ? { instance: state.instance, origin: target.origin }
      : { url: target.endpoint.url, origin: target.origin },
    stateDir,
    ...(policy && stack.apiVersion === 2 ? { policy } : {}),
    watch: await loadWatchList(args.watchKey, args.watchDigest),
    staleAfterMs: parseDuration(args.staleAfter, '--stale-after'),
    maxEntries,
  };
  return { ctx, label: state ? state.instance : target.origin };
}

async function runAndReport(args: Args, ctx: MonitorContext, label: string): Promise<MonitorRun> {
  const { monitorOnce } = await import('../../monitor/run.js');
  const deliveries: string[] = [];
  const timeoutMs = parseDuration(args.alertTimeout, '--alert-timeout');
  const command = args.alertCommand;
  if (command) {
    const { runAlertCommand } = await import('../../monitor/alert-command.js');
    ctx.deliver = async (e: AlertEvent) => {
      const d = await runAlertCommand(command, e, timeoutMs);
      if (!d.ok) deliveries.push(`${e.kind}: ${d.detail}`);
      return d.ok;
    };
  }
  const run = await monitorOnce(ctx);
  if (args.textfile) {
    const { renderTextfile } = await import('../../monitor/textfile.js');
    const { quorumWitnesses } = await import('../../monitor/run.js');
    const { writeFileAtomic } = await import('../../util/atomic-file.js');
    const witnesses = new Map(
      (ctx.policy ? quorumWitnesses(ctx.policy) : []).map((w) => [w, run.state.witnesses[w]] as const),
    );
    await writeFileAtomic(
      args.textfile,
      renderTextfile({
        log: label,
        at: run.at.getTime(),
        up: run.head !== undefined,
        ...(run.head ? { treeSize: run.head.size } : {}),
        nextIndex: run.state.nextIndex,
        ...(run.state.lastFreshAt !== undefined ? { lastFreshAt: run.state.lastFreshAt } : {}),
        witnesses,
        alerts: run.alerts,
      }),
      0o644,
    );
  }
  printResult(args, runJson(run, deliveries), runText(run, deliveries));
  return run;
}

async function loop(args: Args, ctx: MonitorContext, label: string): Promise<never> {
  const { onInterrupt } = await import('../../util/interrupt.js');
  const intervalMs = parseDuration(args.interval, '--interval');
  let wake: () => void = () => undefined;
  let stopped = false;
  onInterrupt('monitor loop', async () => {
    stopped = true;
    wake();
  });
  for (;;) {
    await runAndReport(args, ctx, label).catch((e: Error) => {
      // One failed run (a state file that cannot be written, ...) is said; the next one tries again.
      args.io.err(`monitor: ${e instanceof AirgapError ? `[${e.code}] ` : ''}${e.message}\n`);
    });
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, intervalMs);
    });
    if (stopped) throw new AirgapError('INTERRUPTED', 'the monitor was stopped');
  }
}

export const monitorCommand = {
  command: 'monitor',
  describe:
    'follow a log: verify each new checkpoint (signature, witness quorum, consistency with what it signed before), re-derive the root from the entries and tiles it reads, and alert on a fork, a rollback, a stalled log or witness, a lost quorum, or an entry signed by a watched key',
  builder: (y) =>
    typed<Args>(
      withLogTarget(withCommon(y))
        .option('once', {
          type: 'boolean',
          default: false,
          describe: 'one run, then exit: 0 when all is well, 18 on an alert (for timers and cron)',
        })
        .option('interval', {
          coerce: lastValue,
          type: 'string',
          default: '5m',
          describe: 'without --once: time between runs (90s, 5m, 1h)',
        })
        .option('state-dir', {
          coerce: lastValue,
          type: 'string',
          describe: "where the monitor keeps its checkpoint history and progress (default: the instance's monitor/)",
        })
        .option('watch-key', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'alert on any entry signed by this public key or certificate (PEM; repeatable)',
        })
        .option('watch-digest', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'alert on any entry signing this artifact digest, sha256:HEX (repeatable)',
        })
        .option('stale-after', {
          coerce: lastValue,
          type: 'string',
          default: '1h',
          describe: 'alert when no fresh checkpoint (or no cosignature from a witness) came within this time',
        })
        .option('alert-command', {
          coerce: lastValue,
          type: 'string',
          describe: 'run this command (by /bin/sh) once per new alert, the alert as JSON on its standard input',
        })
        .option('alert-timeout', {
          coerce: lastValue,
          type: 'string',
          default: '30s',
          describe: 'how long the alert command may take',
        })
        .option('textfile', {
          coerce: lastValue,
          type: 'string',
          describe: "write the run's metrics here in Prometheus text format (node_exporter's textfile collector)",
        })
        .option('max-entries', {
          coerce: lastValue,
          type: 'number',
          default: 10000,
          describe: 'entries scanned per run at most (the rest on the next runs)',
        })
        .example(
          '$0 monitor --instance default --once --watch-key release-signing.pub --textfile /var/lib/node_exporter/rekor.prom',
          '',
        )
        .example(
          "$0 monitor --url https://rekor.site.internal:3443 --ca ca.crt --log-key log.pub --origin rekor.site.internal --state-dir /var/lib/rekor-monitor --alert-command 'logger -t rekor-monitor'",
          '',
        ),
    ),
  handler: async (args) => {
    const { ctx, label } = await monitorContext(args);
    if (!args.once) await loop(args, ctx, label);
    const run = await runAndReport(args, ctx, label);
    if (run.alerts.length)
      throw new AirgapError(
        'MONITOR_ALERT',
        `${run.alerts.length} alert(s): ${[...new Set(run.alerts.map((a) => a.kind))].join(', ')}`,
        { details: { alerts: run.alerts } },
      );
    if (run.error) throw run.error;
  },
} satisfies CommandModule<object, Args>;
