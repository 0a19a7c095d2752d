/**
 * What the instance's front door allows each client, and how often the log checkpoints: install
 * options kept in state.json, so a rerun, an upgrade or a restore keeps what the operator chose.
 * Each value is checked here (a coded usage error naming the option) and rendered into both
 * stacks' nginx.conf, and into rekor-tiles' own body limit.
 */
import { AirgapError } from '../errors.js';
import type { TemplateVars } from './render.js';

export interface ServingLimits {
  /** Writes per second from one client address (nginx `limit_req` rate); above it (and the burst): 429. */
  writeRate: number;
  /** Writes above the rate one address may send at once before it gets 429. */
  writeBurst: number;
  /** Open connections from one client address (nginx `limit_conn`). */
  maxConnectionsPerClient: number;
  /** The largest request body, in bytes (nginx `client_max_body_size`, rekor-tiles `--max-request-body-size`). */
  maxBodyBytes: number;
  /** Seconds nginx waits for the log server's answer to one request (a v2 write waits for a checkpoint). */
  proxyReadTimeoutSec: number;
}

/**
 * The defaults, set from the load runs in BENCHMARKS.md ("Log under load", 2026-12-07): with the
 * per-address limits out of the way, 64 writers from one address got 21.7 entries/s from Rekor v2
 * (each write waits ~3 s for its checkpoint) and 58.9/s from Rekor v1 on two cores; the old 10/s
 * (burst 20) held both at about 10/s and answered over 11,000 requests with 429. 60/s lets one
 * address use what the log can do here; 128 connections hold 64 waiting v2 writers and their reads.
 * See the README's "Serving limits" for what each costs.
 */
export const DEFAULT_SERVING_LIMITS: Readonly<ServingLimits> = {
  writeRate: 60,
  writeBurst: 120,
  maxConnectionsPerClient: 128,
  maxBodyBytes: 1024 * 1024,
  proxyReadTimeoutSec: 60,
};
export const DEFAULT_CHECKPOINT_INTERVAL = '2s';

/** The options as given on the command line (undefined: keep the instance's, else the default). */
export interface ServingLimitsAsked {
  writeRate?: string | number | undefined;
  writeBurst?: string | number | undefined;
  maxConnectionsPerClient?: string | number | undefined;
  maxBody?: string | number | undefined;
  proxyReadTimeout?: string | number | undefined;
  checkpointInterval?: string | undefined;
}

const bad = (option: string, value: unknown, want: string) =>
  new AirgapError('USAGE_BAD_LIMIT', `${option} ${JSON.stringify(String(value))}: expected ${want}`);

function intIn(option: string, value: string | number, min: number, max: number, unit: string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw bad(option, value, `a whole number of ${unit} from ${min} to ${max}`);
  return n;
}

/** A body size like `1m`, `512k`, `4MiB` or `1048576` (bytes), from 1 KiB to 64 MiB. */
export function parseBodySize(value: string | number, option = '--max-body'): number {
  const m = /^(\d+)\s*(?:([kKmM])(?:i?[bB])?)?$/.exec(String(value).trim());
  const n = m ? Number(m[1]) * (m[2] ? (m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024) : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1024 || n > 64 * 1024 * 1024)
    throw bad(option, value, 'a size from 1k to 64m (like 1m, 512k, 4MiB or 1048576 bytes)');
  return n;
}

/** A seconds value like `60`, `60s` or `2m`, from 5 s to 1 h. */
export function parseSeconds(value: string | number, option: string): number {
  const m = /^(\d+)\s*(s|m)?$/.exec(String(value).trim());
  const n = m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 5 || n > 3600)
    throw bad(option, value, 'seconds from 5 to 3600 (like 60, 60s or 2m)');
  return n;
}

/** A Go duration rekor-tiles takes (`500ms`, `2s`, `1m`), from 100 ms to 10 min; its milliseconds. */
export function parseCheckpointInterval(value: string, option = '--checkpoint-interval'): number {
  const m = /^(\d+)(ms|s|m)$/.exec(value.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!Number.isSafeInteger(ms) || ms < 100 || ms > 600_000)
    throw bad(option, value, 'a duration from 100ms to 10m (like 500ms, 2s or 1m)');
  return ms;
}

/**
 * The limits an install runs with: each option asked, else what the instance kept, else the
 * default. A v2 write waits for the next checkpoint, so nginx must wait longer than one interval.
 */
export function resolveServingLimits(
  asked: ServingLimitsAsked,
  kept?: { limits?: ServingLimits | undefined; checkpointInterval?: string | undefined },
): { limits: ServingLimits; checkpointInterval: string } {
  const base = kept?.limits ?? DEFAULT_SERVING_LIMITS;
  const pick = <T>(v: T | undefined, parse: (v: T) => number, fallback: number) =>
    v === undefined ? fallback : parse(v);
  const limits: ServingLimits = {
    writeRate: pick(asked.writeRate, (v) => intIn('--write-rate', v, 1, 100_000, 'writes per second'), base.writeRate),
    writeBurst: pick(asked.writeBurst, (v) => intIn('--write-burst', v, 0, 100_000, 'writes'), base.writeBurst),
    maxConnectionsPerClient: pick(
      asked.maxConnectionsPerClient,
      (v) => intIn('--max-connections-per-client', v, 1, 10_000, 'connections'),
      base.maxConnectionsPerClient,
    ),
    maxBodyBytes: pick(asked.maxBody, (v) => parseBodySize(v), base.maxBodyBytes),
    proxyReadTimeoutSec: pick(
      asked.proxyReadTimeout,
      (v) => parseSeconds(v, '--proxy-read-timeout'),
      base.proxyReadTimeoutSec,
    ),
  };
  const checkpointInterval = asked.checkpointInterval ?? kept?.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
  const intervalMs = parseCheckpointInterval(checkpointInterval);
  if (limits.proxyReadTimeoutSec * 1000 < intervalMs + 5000)
    throw new AirgapError(
      'USAGE_BAD_LIMIT',
      `--proxy-read-timeout ${limits.proxyReadTimeoutSec}s is shorter than --checkpoint-interval ${checkpointInterval} plus 5 s: a write waits for the next checkpoint, and nginx would answer 504 first`,
    );
  return { limits, checkpointInterval };
}

/** The template variables of the limits (`{{ limits.write_rate }}`, ...). */
export function servingLimitVars(l: ServingLimits): TemplateVars {
  return {
    write_rate: l.writeRate,
    write_burst: l.writeBurst,
    max_connections_per_client: l.maxConnectionsPerClient,
    max_body_bytes: l.maxBodyBytes,
    proxy_read_timeout: `${l.proxyReadTimeoutSec}s`,
  };
}
