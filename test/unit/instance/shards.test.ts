/**
 * A rotated log's trust files and state (log rotate): every shard listed with its window, newest
 * first, under one operator; the links between shards kept in state.json and across a rerun.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseState, shardFieldsOf, type InstanceState } from '../../../src/instance/state.js';
import { DEFAULT_SERVING_LIMITS } from '../../../src/instance/serving-limits.js';
import { logFactsOf, operatorOf, shardFactsOf, tsaFactsOf } from '../../../src/instance/trust-files.js';
import { signingConfig, trustedRoot } from '../../../src/trust/client-trust.js';
import { canonicalJson } from '../../../src/util/canonical-json.js';
import { expectCode } from '../../helpers/expect-code.js';

const pem = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

function instance(name: string, host: string, installedAt: string, keyId: string): InstanceState {
  return {
    instance: name,
    profile: 'rekor-v2',
    kind: 'rekor-v2',
    project: `rekor-airgap-${name}`,
    dataDir: `/var/lib/rekor-airgap/${name}`,
    hostname: host,
    origin: host,
    httpsPort: 3443,
    bindAddress: '0.0.0.0',
    url: `https://${host}:3443`,
    checkpointInterval: '2s',
    limits: DEFAULT_SERVING_LIMITS,
    stack: {},
    logPublicKeyPem: pem(),
    logKeyId: keyId.repeat(64),
    bundle: { createdAt: 'x', manifestSha256: 'a'.repeat(64), release: 2 },
    highestRelease: 2,
    images: {},
    installedAt,
    updatedAt: installedAt,
  };
}

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-06-01T00:00:00.000Z';
const SWITCH = '2026-06-01T00:05:00.000Z';

/** The two states as log rotate leaves them. */
function rotatedPair(): { old: InstanceState; next: InstanceState } {
  const old = instance('default', 'rekor.site', T0, 'a');
  const next = instance('shard2', 'rekor2.site', T1, 'b');
  old.readOnlySince = SWITCH;
  old.finalCheckpoint = { size: 42, rootHex: 'c'.repeat(64) };
  next.previousShards = [{ ...shardFactsOf(old), caCertPem: 'OLD CA' }];
  next.operator = operatorOf(old);
  old.rotatedTo = { ...shardFactsOf(next), caCertPem: 'NEW CA' };
  return { old, next };
}

type Tlog = { baseUrl: string; publicKey: { validFor: { start: string; end?: string } }; operator: string };
type Service = { url: string; validFor: { start: string; end?: string }; operator: string };

describe('trust files of a rotated log', () => {
  it('one log: exactly what they were before shards existed (no end, one entry)', () => {
    const s = instance('default', 'rekor.site', T0, 'a');
    const root = trustedRoot(logFactsOf(s, 2)) as { tlogs: Tlog[] };
    expect(root.tlogs).toHaveLength(1);
    expect(root.tlogs[0]!.publicKey.validFor).toEqual({ start: T0 });
    expect(root.tlogs[0]!.operator).toBe('rekor-airgap default (rekor.site)');
    const sc = signingConfig(logFactsOf(s, 2)) as { rekorTlogUrls: Service[] };
    expect(sc.rekorTlogUrls).toEqual([
      {
        url: 'https://rekor.site:3443',
        majorApiVersion: 2,
        validFor: { start: T0 },
        operator: root.tlogs[0]!.operator,
      },
    ]);
  });

  it("the new shard's files: the new log first and open, the old one ending at its read-only switch, one operator", () => {
    const { next } = rotatedPair();
    const root = trustedRoot(logFactsOf(next, 2)) as { tlogs: Tlog[] };
    expect(root.tlogs.map((t) => [t.baseUrl, t.publicKey.validFor])).toEqual([
      ['https://rekor2.site:3443', { start: T1 }],
      ['https://rekor.site:3443', { start: T0, end: SWITCH }],
    ]);
    expect(new Set(root.tlogs.map((t) => t.operator))).toEqual(new Set(['rekor-airgap default (rekor.site)']));
    const sc = signingConfig(logFactsOf(next, 2)) as { rekorTlogUrls: Service[] };
    expect(sc.rekorTlogUrls.map((u) => [u.url, u.validFor])).toEqual([
      ['https://rekor2.site:3443', { start: T1 }],
      ['https://rekor.site:3443', { start: T0, end: SWITCH }],
    ]);
    expect(new Set(sc.rekorTlogUrls.map((u) => u.operator)).size).toBe(1);
  });

  it("the old shard's files say the same, byte for byte: its successor first", () => {
    const { old, next } = rotatedPair();
    expect(canonicalJson(trustedRoot(logFactsOf(old, 2)))).toBe(canonicalJson(trustedRoot(logFactsOf(next, 2))));
    expect(canonicalJson(signingConfig(logFactsOf(old, 2)))).toBe(canonicalJson(signingConfig(logFactsOf(next, 2))));
  });

  it('newest first whatever order the shards are given in; a chain of three keeps every window', () => {
    const { next } = rotatedPair();
    const third = instance('shard3', 'rekor3.site', '2026-09-01T00:00:00.000Z', 'd');
    third.previousShards = [
      { ...shardFactsOf({ ...next, readOnlySince: '2026-09-01T00:01:00.000Z' }) },
      ...next.previousShards!,
    ];
    third.operator = next.operator!;
    const urls = (trustedRoot([...logFactsOf(third, 2)].reverse()) as { tlogs: Tlog[] }).tlogs.map((t) => [
      t.baseUrl,
      t.publicKey.validFor.end,
    ]);
    expect(urls).toEqual([
      ['https://rekor3.site:3443', undefined],
      ['https://rekor2.site:3443', '2026-09-01T00:01:00.000Z'],
      ['https://rekor.site:3443', SWITCH],
    ]);
  });

  it("each shard's timestamp authority stays trusted within its shard's window", () => {
    const { next } = rotatedPair();
    next.previousShards![0]!.tsaChainPem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const tsas = tsaFactsOf(next, '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n');
    const root = trustedRoot(logFactsOf(next, 2), tsas) as {
      timestampAuthorities: Array<{ uri: string; validFor: { start: string; end?: string } }>;
    };
    expect(root.timestampAuthorities.map((t) => [t.uri, t.validFor])).toEqual([
      ['https://rekor2.site:3443', { start: T1 }],
      ['https://rekor.site:3443', { start: T0, end: SWITCH }],
    ]);
    const sc = signingConfig(logFactsOf(next, 2), tsas) as { tsaUrls: Service[] };
    expect(sc.tsaUrls[0]!.url).toBe('https://rekor2.site:3443/api/v1/timestamp');
  });
});

describe('state.json of rotated shards', () => {
  const src = { what: 'state.json', code: 'INSTALL_STATE_CORRUPT' } as const;

  it('reads back every link, the switch, the final checkpoint and a rotation under way', () => {
    const { old, next } = rotatedPair();
    const journal = { ...old, rotation: { to: 'shard2', toDataDir: '/x', startedAt: T1 } };
    expect(parseState(JSON.stringify(journal), src)).toEqual(journal);
    expect(parseState(JSON.stringify(next), src)).toEqual(next);
  });

  it('refuses malformed links with the caller code, naming the field', () => {
    const { old, next } = rotatedPair();
    expectCode(() => parseState(JSON.stringify({ ...old, readOnlySince: 'yesterday' }), src), 'INSTALL_STATE_CORRUPT');
    const bad = { ...next, previousShards: [{ ...next.previousShards![0]!, logKeyId: 'zz' }] };
    expect(expectCode(() => parseState(JSON.stringify(bad), src), 'INSTALL_STATE_CORRUPT').message).toMatch(
      /previousShards\[0\]\.logKeyId/,
    );
    expectCode(
      () => parseState(JSON.stringify({ ...old, rotation: { to: '../etc', toDataDir: '/x', startedAt: T1 } }), src),
      'INSTALL_STATE_CORRUPT',
    );
    expectCode(
      () => parseState(JSON.stringify({ ...old, finalCheckpoint: { size: -1, rootHex: 'c'.repeat(64) } }), src),
      'INSTALL_STATE_CORRUPT',
    );
  });

  it('a rerun or an upgrade of an instance keeps what rotation recorded', () => {
    const { old } = rotatedPair();
    const kept = shardFieldsOf({ ...old, rotation: { to: 'shard2', toDataDir: '/x', startedAt: T1 } });
    expect(Object.keys(kept).sort()).toEqual(['finalCheckpoint', 'readOnlySince', 'rotatedTo', 'rotation']);
    expect(shardFieldsOf(instance('plain', 'p.site', T0, 'e'))).toEqual({});
  });
});
