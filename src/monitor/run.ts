/**
 * One run of the monitor: read the log's checkpoint (its signature verified), check the witness
 * quorum, add it to the monitor's own checkpoint history (a consistency proof from the largest
 * kept one), scan the new entries for watched keys and digests (proved into the checkpoint), and
 * judge staleness. Each step returns what it found; the alerts are collected into one report.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { AirgapError, ExitCode } from '../errors.js';
import { recordCheckpoint, type RecordOutcome } from '../instance/checkpoint-history.js';
import type { RangeEntry } from '../rekor/entry-range.js';
import type { LogHead } from '../rekor/log-head.js';
import type { LogTarget } from '../rekor/target.js';
import type { LogStack } from '../stacks/stack.js';
import { formatDuration } from '../util/duration.js';
import { evaluateQuorum, type QuorumVerdict } from '../witness/quorum.js';
import type { WitnessPolicy } from '../witness/policy.js';
import { alertEvent, alertKey, type AlertEvent, type AlertKind, type EventSubject } from './events.js';
import { monitorStatePaths, readMonitorState, writeMonitorState, type MonitorState } from './monitor-state.js';
import { entrySigners, watchMatches, type WatchList } from './watch.js';

export interface MonitorContext {
  stack: Pick<LogStack, 'readHead' | 'proveConsistency' | 'readEntry' | 'readEntryRange'>;
  target: LogTarget;
  subject: EventSubject;
  stateDir: string;
  policy?: WitnessPolicy;
  watch: WatchList;
  staleAfterMs: number;
  /** At most this many entries are scanned per run (the rest on the next runs). */
  maxEntries: number;
  /** Hands a new alert to the operator's command; false when that failed (it is tried again next run). */
  deliver?: (e: AlertEvent) => Promise<boolean>;
  now?: () => Date;
}

export interface MonitorRun {
  at: Date;
  head?: LogHead;
  history?: RecordOutcome;
  quorum?: QuorumVerdict;
  /** Entries scanned in this run: [from, to). */
  scanned?: { from: number; to: number };
  alerts: AlertEvent[];
  /** Alerts the previous run did not raise (the alert command runs for these). */
  fresh: AlertEvent[];
  /** The log could not be read (not an alert by itself: `stalled` says when it lasts). */
  error?: Error;
  state: MonitorState;
}

type Found = { alerts: AlertEvent[]; error?: Error };

/** A failure of the log's answer, not of the way to it (unreachable, timeouts: exit 10). */
function isVerificationFailure(e: unknown): e is AirgapError {
  return (
    e instanceof AirgapError &&
    (e.exitCode === ExitCode.SMOKE_PROOF_INVALID || e.exitCode === ExitCode.SMOKE_SIGNATURE_INVALID)
  );
}

/** Alerts of a run share the subject and time. */
function raiser(ctx: MonitorContext, at: Date) {
  return (kind: AlertKind, detail: string, extra: Parameters<typeof alertEvent>[4] = {}) =>
    alertEvent(ctx.subject, at, kind, detail, extra);
}

async function readHead(ctx: MonitorContext, raise: ReturnType<typeof raiser>): Promise<Found & { head?: LogHead }> {
  try {
    return { alerts: [], head: await ctx.stack.readHead(ctx.target) };
  } catch (e) {
    if (isVerificationFailure(e))
      return {
        alerts: [raise('unverifiable', `the log's checkpoint does not verify: ${e.message}`, { code: e.code })],
      };
    return { alerts: [], error: e as Error };
  }
}

/** Adds `head` to the monitor's history: a smaller checkpoint is a rollback, an inconsistent one a fork. */
async function recordHead(
  ctx: MonitorContext,
  head: LogHead,
  raise: ReturnType<typeof raiser>,
): Promise<Found & { outcome?: RecordOutcome }> {
  const at = { size: head.size, rootHex: head.rootHex };
  try {
    const outcome = await recordCheckpoint(monitorStatePaths(ctx.stateDir).checkpoints, head, (from, to) =>
      ctx.stack.proveConsistency(ctx.target, from, to),
    );
    return { alerts: [], outcome };
  } catch (e) {
    if (!(e instanceof AirgapError) || e.code !== 'LOG_FORK') throw e;
    const cause = e.cause;
    // The proof could not be fetched: the way to the log failed, not the log's history.
    if (cause instanceof AirgapError && !isVerificationFailure(cause)) return { alerts: [], error: cause };
    // The log's tiles do not hash to the checkpoint it signed: broken, not (yet) a fork.
    if (cause instanceof AirgapError && cause.code === 'SMOKE_PROOF_TILES')
      return { alerts: [raise('unverifiable', cause.message, { ...at, code: cause.code })] };
    const kept = (e.details as { kept?: { size?: number } }).kept;
    const rollback = kept?.size !== undefined && head.size < kept.size;
    return { alerts: [raise(rollback ? 'rollback' : 'fork', e.message, { ...at, code: e.code })] };
  }
}

/** The witness names the policy's quorum reaches. */
export function quorumWitnesses(p: WitnessPolicy): string[] {
  if (p.quorum === 'none') return [];
  const groups = new Map(p.groups.map((g) => [g.name, g]));
  const out = new Set<string>();
  const walk = (name: string) => {
    const g = groups.get(name);
    if (g) g.members.forEach(walk);
    else out.add(name);
  };
  walk(p.quorum);
  return p.witnesses.map((w) => w.name).filter((n) => out.has(n));
}

function checkQuorum(
  ctx: MonitorContext,
  head: LogHead,
  state: MonitorState,
  raise: ReturnType<typeof raiser>,
): Found & { verdict?: QuorumVerdict } {
  if (!ctx.policy) return { alerts: [] };
  const verdict = evaluateQuorum(head.checkpoint, ctx.policy);
  for (const c of verdict.cosigned) state.witnesses[c.name] = Math.max(state.witnesses[c.name] ?? 0, c.timestamp);
  if (verdict.satisfied) return { alerts: [], verdict };
  return {
    verdict,
    alerts: [
      raise(
        'quorum-lost',
        `the checkpoint of size ${head.size} is not cosigned by the witness quorum (${verdict.rule}): missing ${verdict.missing.join(', ')}`,
        { size: head.size, rootHex: head.rootHex, ...(verdict.missing[0] ? { witness: verdict.missing[0] } : {}) },
      ),
    ],
  };
}

/** A checkpoint is fresh when its note changed since the last run (with a policy: and it meets the quorum). */
function noteFreshness(state: MonitorState, head: LogHead, verdict: QuorumVerdict | undefined, now: number): void {
  const sha = createHash('sha256').update(head.checkpoint).digest('hex');
  const changed = sha !== state.lastNoteSha256;
  state.lastNoteSha256 = sha;
  if (changed && (verdict === undefined || verdict.satisfied)) state.lastFreshAt = now;
}

function staleness(
  ctx: MonitorContext,
  state: MonitorState,
  now: number,
  raise: ReturnType<typeof raiser>,
): AlertEvent[] {
  const alerts: AlertEvent[] = [];
  const limit = formatDuration(ctx.staleAfterMs);
  const fresh = state.lastFreshAt ?? state.firstRunAt;
  if (now - fresh > ctx.staleAfterMs)
    alerts.push(
      raise(
        'stalled',
        `no fresh ${ctx.policy ? 'cosigned ' : ''}checkpoint for ${formatDuration(Math.round((now - fresh) / 1000) * 1000)} (more than ${limit}); last ${state.lastFreshAt ? new Date(state.lastFreshAt).toISOString() : 'never seen'}`,
      ),
    );
  for (const w of ctx.policy ? quorumWitnesses(ctx.policy) : []) {
    const last = state.witnesses[w];
    const since = last !== undefined ? last * 1000 : state.firstRunAt;
    if (now - since > ctx.staleAfterMs)
      alerts.push(
        raise(
          'witness-stale',
          `witness ${w} has not cosigned the log's checkpoint for more than ${limit}; last cosigned ${last !== undefined ? new Date(last * 1000).toISOString() : 'never (since the monitor started)'}`,
          { witness: w },
        ),
      );
  }
  return alerts;
}

async function readRange(ctx: MonitorContext, head: LogHead, from: number, to: number): Promise<RangeEntry[]> {
  if (ctx.stack.readEntryRange) return ctx.stack.readEntryRange(ctx.target, head, from, to);
  const out: RangeEntry[] = [];
  for (let i = from; i < to; i++) out.push({ logIndex: i, body: (await ctx.stack.readEntry(ctx.target, i)).body });
  return out;
}

/**
 * Reads the entries from the kept index on (at most maxEntries), proved into `head` (v2: with the
 * tiles they re-derive its root), and looks for watched keys and digests in them.
 */
async function scanEntries(
  ctx: MonitorContext,
  head: LogHead,
  state: MonitorState,
  raise: ReturnType<typeof raiser>,
): Promise<Found & { scanned?: { from: number; to: number } }> {
  const from = Math.min(state.nextIndex, head.size);
  const to = Math.min(head.size, from + Math.max(0, ctx.maxEntries));
  if (to <= from) return { alerts: [] };
  let entries: RangeEntry[];
  try {
    entries = await readRange(ctx, head, from, to);
  } catch (e) {
    if (isVerificationFailure(e))
      return {
        alerts: [
          raise('unverifiable', `entries ${from} to ${to - 1}: ${e.message}`, {
            size: head.size,
            rootHex: head.rootHex,
            code: e.code,
          }),
        ],
      };
    return { alerts: [], error: e as Error };
  }
  const alerts: AlertEvent[] = [];
  for (const e of entries) {
    const signers = entrySigners(e.body);
    for (const m of watchMatches(ctx.watch, signers))
      alerts.push(
        raise(m.kind, `entry ${e.logIndex} (${signers.kind}) ${m.detail}`, {
          index: e.logIndex,
          size: head.size,
          rootHex: head.rootHex,
        }),
      );
  }
  state.nextIndex = to;
  return { alerts, scanned: { from, to } };
}

/** Hands each alert the last run did not raise to `deliver`; returns the keys now active. */
async function deliverNew(ctx: MonitorContext, alerts: AlertEvent[], before: ReadonlySet<string>) {
  const fresh = alerts.filter((a) => !before.has(alertKey(a)));
  const active = new Set(alerts.filter((a) => before.has(alertKey(a))).map(alertKey));
  for (const a of fresh) if (!ctx.deliver || (await ctx.deliver(a))) active.add(alertKey(a));
  return { fresh, active: [...active] };
}

export async function monitorOnce(ctx: MonitorContext): Promise<MonitorRun> {
  const at = (ctx.now ?? (() => new Date()))();
  const now = at.getTime();
  await fsp.mkdir(ctx.stateDir, { recursive: true, mode: 0o755 });
  const state = await readMonitorState(ctx.stateDir, now);
  const raise = raiser(ctx, at);
  const run: MonitorRun = { at, alerts: [], fresh: [], state };
  const take = (f: Found) => {
    run.alerts.push(...f.alerts);
    if (f.error && !run.error) run.error = f.error;
  };
  const read = await readHead(ctx, raise);
  take(read);
  if (read.head) {
    const head = read.head;
    run.head = head;
    state.lastSize = head.size;
    const quorum = checkQuorum(ctx, head, state, raise);
    take(quorum);
    if (quorum.verdict) run.quorum = quorum.verdict;
    const recorded = await recordHead(ctx, head, raise);
    take(recorded);
    if (recorded.outcome) {
      run.history = recorded.outcome;
      noteFreshness(state, head, quorum.verdict, now);
      const scan = await scanEntries(ctx, head, state, raise);
      take(scan);
      if (scan.scanned) run.scanned = scan.scanned;
    }
  }
  run.alerts.push(...staleness(ctx, state, now, raise));
  const delivered = await deliverNew(ctx, run.alerts, new Set(state.active));
  run.fresh = delivered.fresh;
  state.active = delivered.active;
  state.lastRunAt = now;
  await writeMonitorState(ctx.stateDir, state);
  return run;
}
