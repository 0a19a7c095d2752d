/** What a failed smoke report means as an error: the first failed check's code and detail. */
import { AirgapError } from '../errors.js';
import type { SmokeReport } from './report.js';

export function smokeFailure(report: SmokeReport): AirgapError | undefined {
  if (report.ok) return undefined;
  const failed = report.checks.find((c) => !c.ok);
  return new AirgapError(
    failed?.code ?? 'SMOKE_INTERNAL',
    `smoke test failed at "${failed?.name ?? '(no check)'}": ${failed?.detail ?? 'the report is marked failed but names no failed check'}`,
  );
}
