/**
 * The smoke tests against a log that answers anything: arbitrary and mutated entries, checkpoints
 * and tiles. Each run ends in a failed report whose failed check carries a coded error — never a
 * crash, never SMOKE_INTERNAL (a bug), never a pass.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Long runs (npm run fuzz) take minutes per property.
vi.setConfig({ testTimeout: 600_000 });
import { smokeV1 } from '../../../src/rekor/smoke-v1.js';
import { smokeV2 } from '../../../src/rekor/smoke-v2.js';
import { fc, jsonValue, mutatedJson, RUNS, SEED } from '../../helpers/fuzz.js';

let server: http.Server;
let url = '';
let answer: (method: string, path: string) => { status: number; body: string | Buffer } = () => ({
  status: 500,
  body: '',
});

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answer(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

const b64 = (n: number) => Buffer.alloc(n, 3).toString('base64');
const ENTRY_V2 = {
  logIndex: '3',
  logId: { keyId: b64(32) },
  kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
  inclusionProof: {
    logIndex: '3',
    rootHash: b64(32),
    treeSize: '4',
    hashes: [b64(32), b64(32)],
    checkpoint: { envelope: 'rekor.test\n4\nAAAA\n\n— rekor.test AAAAAA==\n' },
  },
  canonicalizedBody: Buffer.from('{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}').toString('base64'),
};
const ENTRY_V1 = {
  '24296fb24b8ad77a': {
    body: Buffer.from('{}').toString('base64'),
    integratedTime: 1,
    logID: 'ab'.repeat(32),
    logIndex: 3,
    verification: {
      inclusionProof: {
        checkpoint: 'x',
        hashes: ['ab'.repeat(32)],
        logIndex: 3,
        rootHash: 'cd'.repeat(32),
        treeSize: 4,
      },
      signedEntryTimestamp: b64(70),
    },
  },
};

const logKey = generateKeyPairSync('ed25519').publicKey;
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const params = { numRuns: Math.max(20, Math.floor(RUNS / 5)), ...(SEED !== undefined ? { seed: SEED } : {}) };

function expectCodedFailure(report: {
  ok: boolean;
  checks: Array<{ ok: boolean; code?: string; detail: string }>;
}): void {
  expect(report.ok).toBe(false);
  const failed = report.checks.find((c) => !c.ok);
  expect(failed?.code, failed?.detail).toBeDefined();
  expect(failed?.code, failed?.detail).not.toBe('SMOKE_INTERNAL');
}

describe('Rekor v2 smoke test against arbitrary answers', () => {
  const body = fc.oneof(
    mutatedJson(ENTRY_V2),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.string(),
  );
  it('entries, checkpoints and tiles', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom(200, 201, 201, 400, 409, 503),
        fc.string({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        async (entry, status, checkpoint, tile) => {
          answer = (method, path) => {
            if (path === '/healthz') return { status: 200, body: '{"status":"SERVING"}' };
            if (method === 'POST') return { status, body: entry };
            if (path === '/checkpoint') return { status: 200, body: checkpoint };
            return { status: 200, body: Buffer.from(tile) };
          };
          expectCodedFailure(
            await smokeV2({
              endpoint: { url, ca: '', timeoutMs: 5000 },
              logKey,
              origin: 'rekor.test',
              instance: 'fuzz',
            }),
          );
        },
      ),
      params,
    );
  });
});

describe('Rekor v1 smoke test against arbitrary answers', () => {
  const body = fc.oneof(
    mutatedJson(ENTRY_V1),
    jsonValue.map((v) => JSON.stringify(v)),
  );
  it('entries, tree heads and proofs', async () => {
    await fc.assert(
      fc.asyncProperty(body, jsonValue, async (entry, other) => {
        answer = (method) =>
          method === 'POST' ? { status: 201, body: entry } : { status: 200, body: JSON.stringify(other) };
        expectCodedFailure(
          await smokeV1({
            endpoint: { url, ca: '', timeoutMs: 5000 },
            logKey: ecKey,
            hostname: 'rekor.test',
            instance: 'fuzz',
          }),
        );
      }),
      params,
    );
  });
});

/** Leaf paths that differ between two JSON documents (["(not JSON)"] when either is not JSON). */
/** Two spellings of the same bytes (a '+' turned into the URL-safe '-'): nothing a check reads changed. */
function sameBytesInBase64(u: unknown, v: unknown): boolean {
  const bytes = (s: unknown) =>
    typeof s === 'string' && /^[A-Za-z0-9+/_-]+={0,2}$/.test(s)
      ? Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
  const [x, y] = [bytes(u), bytes(v)];
  return x !== undefined && y !== undefined && x.length > 0 && x.equals(y);
}

function changedFields(a: Buffer, b: Buffer): string[] {
  let x: unknown;
  let y: unknown;
  try {
    x = JSON.parse(a.toString('utf8'));
    y = JSON.parse(b.toString('utf8'));
  } catch {
    return ['(not JSON)'];
  }
  const out: string[] = [];
  const walk = (p: string, u: unknown, v: unknown) => {
    if (u && v && typeof u === 'object' && typeof v === 'object' && Array.isArray(u) === Array.isArray(v)) {
      for (const k of new Set([...Object.keys(u), ...Object.keys(v)]))
        walk(p ? `${p}.${k}` : k, (u as Record<string, unknown>)[k], (v as Record<string, unknown>)[k]);
    } else if (JSON.stringify(u) !== JSON.stringify(v) && !sameBytesInBase64(u, v)) out.push(p || '(root)');
  };
  walk('', x, y);
  return out;
}

describe('Rekor v2 smoke test against an honest log that tampers with one answer', () => {
  const origin = 'rekor.fuzz.internal';
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  it('untampered, the smoke test passes every check (the stand-in log is honest)', async () => {
    const { MiniTilesLog } = await import('../../helpers/mini-tiles-log.js');
    const log = new MiniTilesLog(origin, privateKey, publicKey, 300);
    await log.start();
    try {
      const r = await smokeV2({
        endpoint: { url: log.url, ca: '', timeoutMs: 5000 },
        logKey: publicKey,
        origin,
        instance: 'fuzz',
      });
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.ok).toBe(true);
    } finally {
      log.close();
    }
  });

  it('one answer changed anywhere (a byte flipped, or a JSON field replaced): a coded failure, or a pass only when nothing checked changed', async () => {
    const { MiniTilesLog } = await import('../../helpers/mini-tiles-log.js');
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 12 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.option(jsonValue, { nil: undefined }),
        fc.nat({ max: 600 }),
        async (which, at, xor, replacement, preload) => {
          const log = new MiniTilesLog(origin, privateKey, publicKey, preload);
          let changed: { path: string; fields: string[] } | undefined;
          log.tamper = (n, _method, path, a) => {
            if (n !== which || a.body.length === 0) return a;
            let body = Buffer.from(a.body);
            if (replacement !== undefined && body[0] === 0x7b) {
              const obj = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
              const keys = Object.keys(obj);
              obj[keys[at % keys.length]!] = replacement;
              body = Buffer.from(JSON.stringify(obj));
            } else {
              body[at % body.length] = body[at % body.length]! ^ xor;
            }
            if (!body.equals(a.body)) changed = { path, fields: changedFields(a.body, body) };
            return { status: a.status, body };
          };
          await log.start();
          try {
            const r = await smokeV2({
              endpoint: { url: log.url, ca: '', timeoutMs: 5000 },
              logKey: publicKey,
              origin,
              instance: 'fuzz',
            });
            if (!r.ok) expectCodedFailure(r);
            else if (changed) {
              // What the smoke test reports but does not rely on: the health text, the entry's
              // kindVersion label other than its kind (its version, or a stray key beside it).
              // No field at all: only the spelling of base64 bytes changed, not the bytes.
              const harmless =
                changed.path === '/healthz' ||
                changed.fields.every((f) => f.startsWith('kindVersion.') && f !== 'kindVersion.kind');
              expect(
                harmless,
                `passed with ${changed.path} changed in ${changed.fields.join(', ') || 'its bytes'}`,
              ).toBe(true);
            }
          } finally {
            log.close();
          }
        },
      ),
      { ...params, numRuns: Math.max(30, Math.floor(RUNS / 3)) },
    );
  });
});
