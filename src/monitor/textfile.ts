/**
 * The Prometheus text exposition format (version 0.0.4) of a monitor run, for node_exporter's
 * textfile collector: written whole and renamed into place, so a scrape never sees half a file.
 * Pure.
 */
import { ALERT_KINDS, type AlertEvent } from './events.js';

export interface RunMetrics {
  /** The label naming the log: the instance name, or the origin. */
  log: string;
  /** The run's time (unix ms). */
  at: number;
  /** The log was read and its checkpoint verified in this run. */
  up: boolean;
  treeSize?: number;
  nextIndex: number;
  /** When a fresh checkpoint last appeared (unix ms). */
  lastFreshAt?: number;
  /** Witness name → time of its newest cosignature seen (unix seconds); absent: never seen. */
  witnesses: ReadonlyMap<string, number | undefined>;
  alerts: readonly AlertEvent[];
}

/** Prometheus label value: backslash, double quote and line feed escaped. */
export function labelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const PREFIX = 'rekor_airgap_monitor_';

export function renderTextfile(m: RunMetrics): string {
  const log = `log="${labelValue(m.log)}"`;
  const out: string[] = [];
  const metric = (name: string, help: string, samples: Array<[string, number]>) => {
    if (!samples.length) return;
    out.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} gauge`);
    for (const [labels, v] of samples) out.push(`${PREFIX}${name}{${labels}} ${Number.isFinite(v) ? v : 'NaN'}`);
  };
  const seconds = (ms: number) => Math.round(ms / 1000);
  metric('last_run_timestamp_seconds', 'When the monitor last ran.', [[log, seconds(m.at)]]);
  metric('up', 'Whether the last run read the log and verified its checkpoint.', [[log, m.up ? 1 : 0]]);
  metric('tree_size', "The log's tree size at the last run.", m.treeSize === undefined ? [] : [[log, m.treeSize]]);
  metric('next_index', 'The first entry not yet scanned for watched keys and digests.', [[log, m.nextIndex]]);
  metric(
    'fresh_checkpoint_age_seconds',
    'Seconds since a fresh checkpoint (with a witness policy: a cosigned one) last appeared.',
    m.lastFreshAt === undefined ? [] : [[log, seconds(m.at - m.lastFreshAt)]],
  );
  metric(
    'alerts',
    'Alerts of each kind raised by the last run.',
    ALERT_KINDS.map((k) => [`${log},kind="${k}"`, m.alerts.filter((a) => a.kind === k).length]),
  );
  metric(
    'witness_cosignature_age_seconds',
    "Seconds since each witness's newest cosignature on the log's checkpoint (NaN: never seen).",
    [...m.witnesses].map(([w, t]) => [
      `${log},witness="${labelValue(w)}"`,
      t === undefined ? NaN : Math.max(0, seconds(m.at) - t),
    ]),
  );
  return out.join('\n') + '\n';
}
