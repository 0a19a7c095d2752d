/**
 * What the monitor reports: one event schema for every way an alert leaves it (the exit code, the
 * alert command's standard input, the JSON output). Pure.
 */

/**
 * fork: the log signed a checkpoint not consistent with one it signed before (same size, another
 * root; or no consistency proof). rollback: a checkpoint smaller than one it signed before.
 * stalled: no fresh checkpoint (with a witness policy: none cosigned by a quorum) within
 * --stale-after. witness-stale: a witness of the policy has not cosigned within --stale-after.
 * quorum-lost: the current checkpoint lacks the policy's quorum of cosignatures. watched-key /
 * watched-digest: an entry signed by a watched key, or signing a watched digest. unverifiable: what
 * the log serves fails a check (its signature, a proof, entries or tiles that do not re-derive the
 * signed root).
 */
export const ALERT_KINDS = [
  'fork',
  'rollback',
  'stalled',
  'witness-stale',
  'quorum-lost',
  'watched-key',
  'watched-digest',
  'unverifiable',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertEvent {
  kind: AlertKind;
  /** The instance monitored, when it was named by --instance. */
  instance?: string;
  /** The log's URL, when it was named by --url. */
  url?: string;
  origin: string;
  /** When the monitor found it (RFC 3339, UTC). */
  at: string;
  /** What was found, in one sentence. */
  detail: string;
  /** The checkpoint concerned (the one the log serves now). */
  size?: number;
  rootHex?: string;
  /** The witness concerned (witness-stale, quorum-lost: the first missing one). */
  witness?: string;
  /** The entry concerned (watched-key, watched-digest). */
  index?: number;
  /** The error code behind it (fork: LOG_FORK; unverifiable: the failed check's code). */
  code?: string;
}

/** Who the events are about: `instance` or `url`, and the origin. */
export interface EventSubject {
  instance?: string;
  url?: string;
  origin: string;
}

export function alertEvent(
  subject: EventSubject,
  at: Date,
  kind: AlertKind,
  detail: string,
  extra: Partial<Pick<AlertEvent, 'size' | 'rootHex' | 'witness' | 'index' | 'code'>> = {},
): AlertEvent {
  return {
    kind,
    ...(subject.instance ? { instance: subject.instance } : { url: subject.url ?? '' }),
    origin: subject.origin,
    at: at.toISOString(),
    detail,
    ...extra,
  };
}

/**
 * The identity of an alert across runs: an alert raised by the previous run with the same key is
 * the same alert still holding (the alert command is not run again for it).
 */
export function alertKey(e: AlertEvent): string {
  return [e.kind, e.witness ?? '', e.index ?? ''].join('/');
}
