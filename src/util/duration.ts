/** Durations as operators write them: `90s`, `5m`, `1h`, `2d`, or plain seconds. */
import { AirgapError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `text` (a number with an optional unit ms, s, m, h or d), or USAGE_BAD_DURATION naming `option`. */
export function parseDuration(text: string | number, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(text));
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] ?? 's']! : NaN;
  if (!Number.isFinite(ms) || ms > 365 * UNIT_MS.d!)
    throw new AirgapError(
      'USAGE_BAD_DURATION',
      `${option} ${JSON.stringify(String(text))} is not a duration (e.g. 90s, 5m, 1h, 2d; at most a year)`,
    );
  return Math.round(ms);
}

/** A duration in the largest unit that divides it (`3600000` → `1h`), for messages. */
export function formatDuration(ms: number): string {
  for (const [u, n] of [
    ['d', UNIT_MS.d!],
    ['h', UNIT_MS.h!],
    ['m', UNIT_MS.m!],
    ['s', UNIT_MS.s!],
  ] as const)
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  return ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
