/** Runs named verification steps in order, recording each; the first failure ends the run. */
import { AirgapError } from '../errors.js';
import type { SmokeCheck } from './report.js';

export class CheckRun {
  readonly checks: SmokeCheck[] = [];
  failure: AirgapError | undefined;

  async step<T>(name: string, fn: () => Promise<[T, string]> | [T, string]): Promise<T> {
    if (this.failure) throw this.failure;
    try {
      const [value, detail] = await fn();
      this.checks.push({ name, ok: true, detail });
      return value;
    } catch (e) {
      throw this.record(name, e);
    }
  }

  /** Records a failed check; an uncoded error is a bug in this tool (SMOKE_INTERNAL). */
  record(name: string, e: unknown): AirgapError {
    const err =
      e instanceof AirgapError
        ? e
        : new AirgapError('SMOKE_INTERNAL', `${name}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    this.checks.push({ name, ok: false, detail: err.message, code: err.code });
    this.failure = err;
    return err;
  }
}
