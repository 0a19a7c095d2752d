/**
 * Property-based runs of the parsers of outside input. CI runs a bounded number of cases
 * (FUZZ_RUNS, default 300 per property); `npm run fuzz` runs many more.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { AirgapError } from '../../src/errors.js';

export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

export function params<T>(): fc.Parameters<T> {
  return { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };
}

/** Runs fn: it may return, or throw an AirgapError with one of `codes`; anything else fails. */
export function onlyCoded(fn: () => unknown, codes: readonly string[]): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AirgapError))
      throw new Error(`uncoded ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    expect(codes, e.message).toContain(e.code);
  }
}

export async function onlyCodedAsync(fn: () => Promise<unknown>, codes: readonly string[]): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof AirgapError))
      throw new Error(`uncoded ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    expect(codes, e.message).toContain(e.code);
  }
}

/** Arbitrary JSON-ish values, and JSON text around them (some not JSON at all). */
export const jsonValue = fc.jsonValue({ maxDepth: 4 });

/** A valid document with one random edit somewhere in its tree: a value replaced, a key dropped. */
export function mutatedJson(valid: unknown): fc.Arbitrary<string> {
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, p: Array<string | number>) => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(valid, []);
  return fc.tuple(fc.constantFrom(...paths), jsonValue, fc.boolean()).map(([p, replacement, drop]) => {
    const copy = JSON.parse(JSON.stringify(valid)) as unknown;
    if (p.length === 0) return JSON.stringify(replacement);
    let parent = copy as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1]!;
    if (drop && !Array.isArray(parent)) delete parent[last];
    else parent[last] = replacement;
    return JSON.stringify(copy);
  });
}

export { fc };
