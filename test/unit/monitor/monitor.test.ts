import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../src/monitor/events.js';
import { readMonitorState } from '../../../src/monitor/monitor-state.js';
import { monitorOnce, type MonitorContext } from '../../../src/monitor/run.js';
import { loadWatchList, type WatchList } from '../../../src/monitor/watch.js';
import { cosignatureVkey } from '../../../src/witness/cosignature.js';
import { parseWitnessPolicy } from '../../../src/witness/policy.js';
import { FakeTilesLog, hashedRekordBody, type Witness } from '../../helpers/fake-tiles-log.js';
import { tempDir } from '../../helpers/fixtures.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2027-03-01T10:00:00Z');

function bodies(n: number, prefix = 'artifact'): Buffer[] {
  return Array.from({ length: n }, (_, i) => hashedRekordBody(`${prefix} ${i}`));
}

/** A monitor over `log` whose clock the test moves. */
function monitor(log: FakeTilesLog, extra: Partial<MonitorContext> = {}) {
  let now = T0;
  const delivered: AlertEvent[] = [];
  const ctx: MonitorContext = {
    stack: log.stack(),
    target: log.target(),
    subject: { instance: 'site', origin: log.origin },
    stateDir: path.join(tempDir('monitor-'), 'state'),
    watch: { keys: [], digests: [] },
    staleAfterMs: HOUR,
    maxEntries: 10_000,
    deliver: async (e) => {
      delivered.push(e);
      return true;
    },
    now: () => new Date(now),
    ...extra,
  };
  return {
    ctx,
    delivered,
    run: () => monitorOnce(ctx),
    advance: (ms: number) => {
      now += ms;
    },
    kinds: (r: { alerts: AlertEvent[] }) => r.alerts.map((a) => a.kind),
  };
}

describe('monitor: a healthy log', () => {
  it('raises nothing, keeps the history and scans every new entry once', async () => {
    const log = new FakeTilesLog().add(...bodies(300));
    const m = monitor(log, { watch: { keys: [], digests: ['00'.repeat(32)] } });
    const first = await m.run();
    expect(first.alerts).toEqual([]);
    expect(first.history).toBe('first');
    expect(first.scanned).toEqual({ from: 0, to: 300 });
    log.add(...bodies(20, 'more'));
    m.advance(5 * 60_000);
    const second = await m.run();
    expect(second.alerts).toEqual([]);
    expect(second.history).toBe('kept');
    expect(second.scanned).toEqual({ from: 300, to: 320 });
    const state = await readMonitorState(m.ctx.stateDir, 0);
    expect(state.nextIndex).toBe(320);
    expect(m.delivered).toEqual([]);
  });

  it('scans at most --max-entries per run and goes on from there', async () => {
    const log = new FakeTilesLog().add(...bodies(40));
    const m = monitor(log, { maxEntries: 15, watch: { keys: [], digests: ['11'.repeat(32)] } });
    expect((await m.run()).scanned).toEqual({ from: 0, to: 15 });
    expect((await m.run()).scanned).toEqual({ from: 15, to: 30 });
    expect((await m.run()).scanned).toEqual({ from: 30, to: 40 });
  });
});

describe('monitor: when the log goes back or forks', () => {
  it('a smaller checkpoint than one it signed before is a rollback', async () => {
    const log = new FakeTilesLog().add(...bodies(10));
    const old = log.snapshot();
    const m = monitor(log);
    await m.run();
    log.add(...bodies(5, 'later'));
    await m.run();
    log.restore(old);
    const r = await m.run();
    expect(m.kinds(r)).toEqual(['rollback']);
    expect(r.alerts[0]).toMatchObject({
      kind: 'rollback',
      instance: 'site',
      origin: 'log.example',
      size: 10,
      code: 'LOG_FORK',
    });
    expect(r.alerts[0]!.detail).toContain('smaller than');
  });

  it('the same size with another root, or a larger tree that does not extend the kept one, is a fork', async () => {
    const log = new FakeTilesLog().add(...bodies(10));
    const m = monitor(log);
    await m.run();
    const other = new FakeTilesLog();
    Object.assign(other, { key: log.key });
    other.add(...bodies(10, 'rewritten'));
    log.restore(other.snapshot());
    expect(m.kinds(await m.run())).toEqual(['fork']);
    other.add(...bodies(3));
    log.restore(other.snapshot());
    const r = await m.run();
    expect(m.kinds(r)).toEqual(['fork']);
    expect(r.alerts[0]!.detail).toContain('not consistent');
  });

  it('entries that do not re-derive the signed root are unverifiable (the scan stops there)', async () => {
    const log = new FakeTilesLog().add(...bodies(5));
    const m = monitor(log, { watch: { keys: [], digests: ['22'.repeat(32)] } });
    await m.run();
    log.add(...bodies(3, 'new'));
    const bundle = [...log.files.keys()].find((k) => k.startsWith('tile/entries/'))!;
    const swapped = Buffer.from(log.files.get(bundle)!);
    swapped[swapped.length - 3] = swapped[swapped.length - 3]! ^ 1;
    log.files.set(bundle, swapped);
    const r = await m.run();
    expect(m.kinds(r)).toEqual(['unverifiable']);
    expect(r.alerts[0]!.code).toBe('SMOKE_PROOF_TILES');
    expect(r.state.nextIndex).toBe(5);
  });
});

describe('monitor: watched keys and digests', () => {
  it('an entry signed by a watched key, or signing a watched digest, raises one alert naming its index', async () => {
    const dir = tempDir('monitor-keys-');
    const watched = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(dir, 'k.pub'), watched.publicKey.export({ type: 'spki', format: 'pem' }));
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256').update('the release').digest('hex');
    const watch: WatchList = await loadWatchList([path.join(dir, 'k.pub')], [`sha256:${digest}`]);
    const log = new FakeTilesLog().add(...bodies(4));
    const m = monitor(log, { watch });
    expect((await m.run()).alerts).toEqual([]);
    log.add(hashedRekordBody('signed by the watched key', watched), ...bodies(2, 'x'), hashedRekordBody('the release'));
    const r = await m.run();
    expect(r.alerts.map((a) => [a.kind, a.index])).toEqual([
      ['watched-key', 4],
      ['watched-digest', 7],
    ]);
    expect(r.alerts[0]!.detail).toContain('k.pub');
    expect(m.delivered.map((a) => a.index)).toEqual([4, 7]);
    // Scanned once: the next run is quiet.
    expect((await m.run()).alerts).toEqual([]);
  });
});

describe('monitor: a stalled log', () => {
  it('no new checkpoint within --stale-after raises stalled, once for the command, until one comes', async () => {
    const log = new FakeTilesLog().add(...bodies(3));
    const m = monitor(log);
    await m.run();
    m.advance(HOUR / 2);
    expect((await m.run()).alerts).toEqual([]);
    m.advance(HOUR);
    const r = await m.run();
    expect(m.kinds(r)).toEqual(['stalled']);
    expect(r.fresh.map((a) => a.kind)).toEqual(['stalled']);
    m.advance(60_000);
    const again = await m.run();
    expect(m.kinds(again)).toEqual(['stalled']);
    expect(again.fresh).toEqual([]);
    expect(m.delivered.map((a) => a.kind)).toEqual(['stalled']);
    log.add(...bodies(1, 'fresh'));
    expect((await m.run()).alerts).toEqual([]);
  });

  it('an unreachable log is no alert by itself, stalled once it lasts; a failed delivery is tried again', async () => {
    const log = new FakeTilesLog().add(...bodies(3));
    let fail = true;
    const tries: string[] = [];
    const m = monitor(log, {
      deliver: async (e) => {
        tries.push(e.kind);
        return !fail;
      },
    });
    await m.run();
    log.unreachable = true;
    const down = await m.run();
    expect(down.alerts).toEqual([]);
    expect(down.error?.message).toContain('down');
    m.advance(2 * HOUR);
    expect(m.kinds(await m.run())).toEqual(['stalled']);
    fail = false;
    expect(m.kinds(await m.run())).toEqual(['stalled']);
    expect((await m.run()).fresh).toEqual([]);
    expect(tries).toEqual(['stalled', 'stalled']);
  });
});

describe('monitor: witnesses', () => {
  const witness = (name: string): Witness & { vkey: string } => {
    const k = generateKeyPairSync('ed25519');
    return { name, privateKey: k.privateKey, vkey: cosignatureVkey(name, k.publicKey) };
  };
  const a = witness('wa.example');
  const b = witness('wb.example');
  const policy = parseWitnessPolicy(
    `witness a ${a.vkey}\nwitness b ${b.vkey}\ngroup both 2 a b\nquorum both\n`,
    'policy.txt',
  );
  const s = (ms: number) => Math.floor(ms / 1000);

  it('a checkpoint without the quorum raises quorum-lost naming the missing witness; a witness silent past --stale-after raises witness-stale', async () => {
    const log = new FakeTilesLog().add(...bodies(3)).publish([a, b], s(T0));
    const m = monitor(log, { policy });
    const ok = await m.run();
    expect(ok.alerts).toEqual([]);
    expect(ok.quorum?.satisfied).toBe(true);
    expect(ok.state.witnesses).toEqual({ a: s(T0), b: s(T0) });
    // b stops cosigning; a goes on.
    m.advance(10 * 60_000);
    log.add(...bodies(1, 'n')).publish([a], s(T0 + 10 * 60_000));
    const lost = await m.run();
    expect(m.kinds(lost)).toEqual(['quorum-lost']);
    expect(lost.alerts[0]).toMatchObject({ witness: 'b' });
    m.advance(HOUR);
    log.republish([a], s(T0 + 70 * 60_000));
    const stale = await m.run();
    expect(m.kinds(stale).sort()).toEqual(['quorum-lost', 'stalled', 'witness-stale']);
    expect(stale.alerts.find((x) => x.kind === 'witness-stale')).toMatchObject({ witness: 'b' });
    expect(stale.alerts.find((x) => x.kind === 'witness-stale')!.detail).toContain(new Date(T0).toISOString());
    // Both cosign again: all clear.
    m.advance(60_000);
    log.republish([a, b], s(T0 + 71 * 60_000));
    expect((await m.run()).alerts).toEqual([]);
  });

  it('an idle log that its witnesses keep cosigning is not stalled', async () => {
    const log = new FakeTilesLog().add(...bodies(2)).publish([a, b], s(T0));
    const m = monitor(log, { policy });
    await m.run();
    for (let i = 1; i <= 12; i++) {
      m.advance(10 * 60_000);
      log.republish([a, b], s(T0 + i * 10 * 60_000));
      expect((await m.run()).alerts).toEqual([]);
    }
  });
});

describe('monitor state', () => {
  it('is JSON in the state directory, next to the checkpoint history', async () => {
    const log = new FakeTilesLog().add(...bodies(2));
    const m = monitor(log);
    await m.run();
    const j = JSON.parse(readFileSync(path.join(m.ctx.stateDir, 'monitor.json'), 'utf8')) as Record<string, unknown>;
    expect(j).toMatchObject({ firstRunAt: T0, nextIndex: 2, lastSize: 2, active: [] });
    writeFileSync(path.join(m.ctx.stateDir, 'monitor.json'), '{"firstRunAt": "x"}');
    await expect(m.run()).rejects.toMatchObject({ code: 'MONITOR_STATE_CORRUPT' });
  });
});
