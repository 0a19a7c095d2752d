/**
 * The one reader for JSON that comes from outside: a backup archive, a medium, a registry, a log,
 * a file a user points at. Size and nesting are capped before `JSON.parse` runs (64 MiB of `[`
 * costs a scan, not gigabytes), and every value is read through a typed view that fails with the
 * caller's code and names the source and the path of the value at fault.
 */
import { AirgapError, type ErrorCode } from '../errors.js';
import { printable } from './untrusted-text.js';

export interface JsonSource {
  /** What is being read, for messages: "backup.json", "the log's answer to GET /checkpoint". */
  what: string;
  /** The code of every fault found in it. */
  code: ErrorCode;
}

export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

/**
 * Parses untrusted JSON text or bytes, or throws `src.code`. Nesting deeper than `maxDepth` and
 * input longer than `maxBytes` are refused before parsing.
 */
export function parseUntrustedJson(
  input: string | Uint8Array,
  src: JsonSource,
  limits: Partial<JsonLimits> = {},
): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_JSON_LIMITS, ...limits };
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes)
    throw new AirgapError(src.code, `${src.what} is ${size} bytes, more than the ${maxBytes} allowed`);
  const text =
    typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.length).toString('utf8');
  const depth = nestingDepth(text, maxDepth);
  if (depth > maxDepth) throw new AirgapError(src.code, `${src.what} nests deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // The parser quotes the input in its message: shown escaped, like all outside text.
    throw new AirgapError(src.code, `${src.what} is not JSON: ${printable((e as Error).message, { max: 200 })}`, {
      cause: e,
    });
  }
}

/** The deepest nesting of `[`/`{` outside strings, counted up to `stopAbove + 1`. */
export function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > stopAbove) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses untrusted JSON into a typed view (see `JsonValue`). */
export function readUntrustedJson(
  input: string | Uint8Array,
  src: JsonSource,
  limits?: Partial<JsonLimits>,
): JsonValue {
  return new JsonValue(parseUntrustedJson(input, src, limits), '', src);
}

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A value read from untrusted JSON, at a path. Each accessor returns the typed value or throws the
 * source's code with the path ("backup.json: files[3].mode is not a whole number"). Only own
 * properties are read: `__proto__` or `constructor` in the input is a key like any other.
 */
export class JsonValue {
  constructor(
    readonly raw: unknown,
    readonly path: string,
    private readonly src: JsonSource,
  ) {}

  /** Wraps a value that was parsed elsewhere. */
  static of(raw: unknown, src: JsonSource): JsonValue {
    return new JsonValue(raw, '', src);
  }

  fail(problem: string): never {
    throw new AirgapError(this.src.code, `${this.src.what}: ${this.path || 'the document'} ${problem}`);
  }

  get isObject(): boolean {
    return isJsonObject(this.raw);
  }

  get isAbsent(): boolean {
    return this.raw === undefined;
  }

  /** The object's own keys (fails if this is not an object). */
  keys(): string[] {
    return Object.keys(this.object());
  }

  object(): Record<string, unknown> {
    if (!isJsonObject(this.raw)) this.fail('is not an object');
    return this.raw as Record<string, unknown>;
  }

  /** A field of this object: absent fields read as an absent value (see `opt*` and `isAbsent`). */
  at(key: string): JsonValue {
    const o = this.object();
    const v = Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
    return new JsonValue(v, this.path ? `${this.path}.${key}` : key, this.src);
  }

  string(pattern?: RegExp): string {
    if (typeof this.raw !== 'string') this.fail('is not a string');
    const s = this.raw as string;
    if (pattern && !pattern.test(s)) this.fail(`is not of the expected form: ${JSON.stringify(s.slice(0, 80))}`);
    return s;
  }

  optString(pattern?: RegExp): string | undefined {
    return this.raw === undefined ? undefined : this.string(pattern);
  }

  /** A safe integer within [min, max]. */
  int(min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const n = this.raw;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) this.fail('is not a whole number');
    if ((n as number) < min || (n as number) > max) this.fail(`is out of range (${min}..${max}): ${n as number}`);
    return n as number;
  }

  optInt(min?: number, max?: number): number | undefined {
    return this.raw === undefined ? undefined : this.int(min, max);
  }

  bool(): boolean {
    if (typeof this.raw !== 'boolean') this.fail('is not true or false');
    return this.raw as boolean;
  }

  list(): JsonValue[] {
    if (!Array.isArray(this.raw)) this.fail('is not a list');
    return (this.raw as unknown[]).map((v, i) => new JsonValue(v, `${this.path}[${i}]`, this.src));
  }

  /** Absent reads as an empty list. */
  optList(): JsonValue[] {
    return this.raw === undefined ? [] : this.list();
  }

  /** One of the given literal strings. */
  oneOf<T extends string>(allowed: readonly T[]): T {
    const s = this.string();
    if (!(allowed as readonly string[]).includes(s))
      this.fail(`is ${JSON.stringify(s.slice(0, 80))}, expected one of ${allowed.join(', ')}`);
    return s as T;
  }

  /** An object whose values are all strings. */
  stringMap(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of this.keys())
      Object.defineProperty(out, k, {
        value: this.at(k).string(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
}
