/**
 * The one retry policy for network requests: transient failures (unreachable, a 5xx/408/429
 * answer, a connection cut mid-body) are retried with exponential backoff; anything else — a
 * refusal, a digest mismatch, a 404 — fails at once.
 */
import { AirgapError, isTransientError, type HttpErrorDomain } from '../errors.js';

/** HTTP answers worth another try. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export interface RetryPolicy {
  retries: number;
  /** Backoff base in ms (doubles each retry). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, backoffMs: 500 };

/** An uncoded error from a body being read (`aborted`, ECONNRESET) becomes DOMAIN_STREAM_BROKEN. */
export function asStreamBroken(e: unknown, domain: HttpErrorDomain, what: string): unknown {
  if (e instanceof AirgapError) return e;
  // A local file operation that failed is not the connection's fault.
  if (LOCAL_SYSCALLS.has((e as NodeJS.ErrnoException)?.syscall ?? '')) return e;
  return new AirgapError(
    `${domain}_STREAM_BROKEN` as const,
    `${what}: the connection broke while reading: ${(e as Error)?.message ?? String(e)}`,
    { cause: e },
  );
}

const LOCAL_SYSCALLS = new Set(['open', 'write', 'rename', 'fsync', 'mkdir', 'close', 'unlink']);

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (e: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isTransientError(e) || attempt >= policy.retries) throw e;
      onRetry?.(e, attempt);
      await new Promise((r) => setTimeout(r, policy.backoffMs * 2 ** attempt));
    }
  }
}
