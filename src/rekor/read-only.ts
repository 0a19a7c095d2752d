/**
 * A log switched read-only (rekor-tiles `--read-only`, a shard rotated out) refuses writes with
 * 405 and its message ("This log has been frozen, please switch to the latest log."). The probe
 * sends an empty request: a read-only server refuses it before reading it, and a writable one
 * rejects it as invalid (400), so the probe never adds an entry.
 */
import { AirgapError } from '../errors.js';
import { logRequest, showText } from './log-http.js';
import type { LogTarget } from './target.js';

export const V2_ENTRIES_PATH = '/api/v2/log/entries';

export async function tilesWritesRefused(t: LogTarget): Promise<string> {
  const res = await logRequest(t.endpoint, 'POST', V2_ENTRIES_PATH, {});
  if (res.status === 405) return `POST ${V2_ENTRIES_PATH} answered 405: ${showText(res.body)}`;
  throw new AirgapError(
    'SMOKE_LOG_WRITABLE',
    `${t.endpoint.url} takes writes: POST ${V2_ENTRIES_PATH} answered HTTP ${res.status} (${showText(res.body)}), expected 405 from a read-only log`,
  );
}
