import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/app.js';
import { bufferIo } from '../../../src/cli/output.js';
import { ExitCode } from '../../../src/errors.js';
import { renderScheduleFiles } from '../../../src/instance/schedule-files.js';
import { instancePaths } from '../../../src/instance/layout.js';
import { runAlertCommand } from '../../../src/monitor/alert-command.js';
import { alertEvent, ALERT_KINDS } from '../../../src/monitor/events.js';
import { renderTextfile } from '../../../src/monitor/textfile.js';
import { entrySigners, keyFingerprint, loadWatchList, parseWatchDigest } from '../../../src/monitor/watch.js';
import { parseDuration } from '../../../src/util/duration.js';
import { expectCode, expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { MiniTilesLog } from '../../helpers/mini-tiles-log.js';

const event = alertEvent(
  { instance: 'site', origin: 'log.example' },
  new Date('2027-03-01T10:00:00Z'),
  'fork',
  'FORK: "quoted" $(reboot) `x`',
  {
    size: 12,
    rootHex: 'ab'.repeat(32),
    code: 'LOG_FORK',
  },
);

describe('the alert command', () => {
  it('gets the event as JSON on its standard input, and nothing of it on its command line', async () => {
    const dir = tempDir('alert-cmd-');
    const out = path.join(dir, 'event.json');
    const d = await runAlertCommand(`cat > '${out}'; echo "$#" > '${out}.args'`, event, 10_000);
    expect(d.ok).toBe(true);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(event);
    expect(readFileSync(`${out}.args`, 'utf8').trim()).toBe('0');
  });

  it('a failing, hanging or missing command is reported, not thrown', async () => {
    const failing = await runAlertCommand('echo nope >&2; exit 3', event, 10_000);
    expect(failing).toMatchObject({ ok: false });
    expect(failing.detail).toContain('exited 3: nope');
    const hanging = await runAlertCommand('sleep 30', event, 300);
    expect(hanging.ok).toBe(false);
    expect(hanging.detail).toContain('did not finish within 0.3 s');
    const missing = await runAlertCommand('/nonexistent/alert-hook', event, 10_000);
    expect(missing.ok).toBe(false);
  });
});

describe('the Prometheus text file', () => {
  it('has one gauge per fact, every alert kind, each witness, with escaped labels', () => {
    const text = renderTextfile({
      log: 'site "a"\\b',
      at: Date.parse('2027-03-01T10:00:00Z'),
      up: true,
      treeSize: 12,
      nextIndex: 12,
      lastFreshAt: Date.parse('2027-03-01T09:55:00Z'),
      witnesses: new Map([
        ['w1', Date.parse('2027-03-01T09:59:00Z') / 1000],
        ['w2', undefined],
      ]),
      alerts: [event, { ...event, kind: 'witness-stale', witness: 'w2' }],
    });
    const L = 'log="site \\"a\\"\\\\b"';
    expect(text).toContain(
      `rekor_airgap_monitor_last_run_timestamp_seconds{${L}} ${Date.parse('2027-03-01T10:00:00Z') / 1000}\n`,
    );
    expect(text).toContain(`rekor_airgap_monitor_up{${L}} 1\n`);
    expect(text).toContain(`rekor_airgap_monitor_tree_size{${L}} 12\n`);
    expect(text).toContain(`rekor_airgap_monitor_fresh_checkpoint_age_seconds{${L}} 300\n`);
    expect(text).toContain(`rekor_airgap_monitor_alerts{${L},kind="fork"} 1\n`);
    expect(text).toContain(`rekor_airgap_monitor_alerts{${L},kind="stalled"} 0\n`);
    expect(text).toContain(`rekor_airgap_monitor_witness_cosignature_age_seconds{${L},witness="w1"} 60\n`);
    expect(text).toContain(`rekor_airgap_monitor_witness_cosignature_age_seconds{${L},witness="w2"} NaN\n`);
    for (const k of ALERT_KINDS) expect(text).toContain(`kind="${k}"`);
    // The exposition grammar: HELP and TYPE before each family's samples, no blank lines.
    for (const line of text.trimEnd().split('\n'))
      expect(line).toMatch(
        /^(# (HELP|TYPE) rekor_airgap_monitor_\w+ .+|rekor_airgap_monitor_\w+\{.*\} (-?\d+(\.\d+)?|NaN))$/,
      );
  });
});

describe('watch list', () => {
  it('a certificate matches its key; a private key, a bad digest or a bad duration is refused', async () => {
    const dir = tempDir('watch-');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expectCodeAsync(() => loadWatchList([path.join(dir, 'priv.pem')], []), 'USAGE_BAD_WATCH');
    expectCode(() => parseWatchDigest('sha256:abc'), 'USAGE_BAD_WATCH');
    expect(parseWatchDigest(`sha256:${'AB'.repeat(32)}`)).toBe('ab'.repeat(32));
    expectCode(() => parseDuration('soon', '--stale-after'), 'USAGE_BAD_DURATION');
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('1h', 'x')).toBe(3_600_000);
    expect(parseDuration(30, 'x')).toBe(30_000);
    // A Rekor v1 hashedrekord: the key as base64 of its PEM, the digest as hex.
    const v1 = Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: 'cd'.repeat(32) } },
          signature: {
            content: 'AAAA',
            publicKey: { content: Buffer.from(publicKey.export({ type: 'spki', format: 'pem' })).toString('base64') },
          },
        },
      }),
    );
    expect(entrySigners(v1)).toEqual({
      kind: 'hashedrekord 0.0.1',
      digests: ['cd'.repeat(32)],
      keys: [keyFingerprint(publicKey)],
    });
    expect(entrySigners(Buffer.from('not json'))).toMatchObject({ digests: [], keys: [] });
  });
});

describe('the scheduled monitor', () => {
  it('the service, the timer and the cron line run monitor.sh --once every 5 minutes', () => {
    const f = renderScheduleFiles(instancePaths('/srv/rekor/t1'), 't1');
    expect(f.monitorSh).toContain(
      "exec '/srv/rekor/t1/tool/node' '/srv/rekor/t1/tool/rekor-airgap.mjs' monitor --instance 't1' --data-dir '/srv/rekor/t1' \"$@\"",
    );
    expect(f.monitorService).toMatch(
      /^ExecStart=\/srv\/rekor\/t1\/scripts\/monitor\.sh --once --quiet --textfile \/srv\/rekor\/t1\/monitor\/rekor-airgap-monitor\.prom$/m,
    );
    expect(f.monitorTimer).toMatch(/^OnCalendar=\*:0\/5$/m);
    expect(f.monitorCron).toMatch(/^\*\/5 \* \* \* \* root \/srv\/rekor\/t1\/scripts\/monitor\.sh --once /m);
  });
});

describe('rekor-airgap monitor --once', () => {
  it('exits 0 on a healthy log, 18 on a rollback: the alert command gets the event and the text file says it', async () => {
    const dir = tempDir('monitor-cli-');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const origin = 'log.example';
    const newer = new MiniTilesLog(origin, privateKey, publicKey, 9);
    const older = new MiniTilesLog(origin, privateKey, publicKey, 4);
    await newer.start();
    await older.start();
    try {
      writeFileSync(path.join(dir, 'ca.pem'), '');
      writeFileSync(path.join(dir, 'log.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      const argv = (url: string) => [
        'monitor',
        '--once',
        '--url',
        url,
        '--ca',
        path.join(dir, 'ca.pem'),
        '--log-key',
        path.join(dir, 'log.pub'),
        '--origin',
        origin,
        '--state-dir',
        path.join(dir, 'state'),
        '--textfile',
        path.join(dir, 'metrics.prom'),
        '--alert-command',
        `cat >> '${path.join(dir, 'events.jsonl')}'`,
        '--json',
        // The stand-in log serves no entry bundles: nothing to scan.
        '--max-entries',
        '0',
      ];
      const io = bufferIo();
      expect(await runCli(argv(newer.url), io), io.stderr()).toBe(ExitCode.OK);
      expect(JSON.parse(io.stdout())).toMatchObject({ ok: true, size: 9, history: 'first', alerts: [] });
      expect(existsSync(path.join(dir, 'events.jsonl'))).toBe(false);
      expect(readFileSync(path.join(dir, 'metrics.prom'), 'utf8')).toContain(
        'rekor_airgap_monitor_tree_size{log="log.example"} 9',
      );

      const io2 = bufferIo();
      expect(await runCli(argv(older.url), io2)).toBe(ExitCode.MONITOR_ALERT);
      expect(io2.stderr()).toContain('error [MONITOR_ALERT]: 1 alert(s): rollback');
      const events = readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'rollback', url: older.url, origin, size: 4, code: 'LOG_FORK' });
      expect(Object.keys(events[0]!).sort()).toEqual([
        'at',
        'code',
        'detail',
        'kind',
        'origin',
        'rootHex',
        'size',
        'url',
      ]);
      expect(readFileSync(path.join(dir, 'metrics.prom'), 'utf8')).toContain(
        'rekor_airgap_monitor_alerts{log="log.example",kind="rollback"} 1',
      );
    } finally {
      newer.close();
      older.close();
    }
  });

  it('--url without --state-dir, and --witness-policy for a Rekor v1 log, are refused', async () => {
    const dir = tempDir('monitor-usage-');
    writeFileSync(path.join(dir, 'f'), '');
    const { publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(path.join(dir, 'k'), publicKey.export({ type: 'spki', format: 'pem' }));
    const base = [
      'monitor',
      '--once',
      '--url',
      'http://127.0.0.1:9',
      '--ca',
      path.join(dir, 'f'),
      '--log-key',
      path.join(dir, 'k'),
      '--origin',
      'o',
    ];
    const io = bufferIo();
    expect(await runCli(base, io)).toBe(ExitCode.USAGE);
    expect(io.stderr()).toContain('--state-dir');
    writeFileSync(path.join(dir, 'policy.txt'), 'quorum none\n');
    const io2 = bufferIo();
    expect(
      await runCli(
        [...base, '--kind', 'rekor-v1', '--state-dir', dir, '--witness-policy', path.join(dir, 'policy.txt')],
        io2,
      ),
    ).toBe(ExitCode.USAGE);
    expect(io2.stderr()).toContain('Rekor v1');
  });
});
