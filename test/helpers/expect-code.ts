import { expect } from 'vitest';
import { AirgapError } from '../../src/errors.js';

/** Asserts that `fn` throws an AirgapError with `code`; returns it for further checks. */
export function expectCode(fn: () => unknown, code: string): AirgapError {
  try {
    fn();
  } catch (e) {
    expect(e, `expected ${code}, got ${String(e)}`).toBeInstanceOf(AirgapError);
    expect((e as AirgapError).code, (e as Error).message).toBe(code);
    return e as AirgapError;
  }
  throw new Error(`expected an error with code ${code}, nothing was thrown`);
}

export async function expectCodeAsync(fn: () => Promise<unknown>, code: string): Promise<AirgapError> {
  try {
    await fn();
  } catch (e) {
    expect(e, `expected ${code}, got ${String(e)}`).toBeInstanceOf(AirgapError);
    expect((e as AirgapError).code, (e as Error).message).toBe(code);
    return e as AirgapError;
  }
  throw new Error(`expected an error with code ${code}, nothing was thrown`);
}
