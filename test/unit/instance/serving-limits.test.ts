/**
 * The serving limits of an install: each option checked (USAGE_BAD_LIMIT naming it), kept from the
 * instance when not asked, and rendered into both stacks' nginx.conf and rekor-tiles' flags.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/instance/render.js';
import {
  DEFAULT_SERVING_LIMITS,
  parseBodySize,
  parseCheckpointInterval,
  resolveServingLimits,
  servingLimitVars,
  type ServingLimits,
} from '../../../src/instance/serving-limits.js';
import { expectCode } from '../../helpers/expect-code.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('serving limits: options', () => {
  it('a fresh install without options gets the defaults', () => {
    expect(resolveServingLimits({})).toEqual({ limits: DEFAULT_SERVING_LIMITS, checkpointInterval: '2s' });
  });

  it('each option asked is taken; the rest are the instance’s own (a rerun keeps what it chose)', () => {
    const kept: ServingLimits = { ...DEFAULT_SERVING_LIMITS, writeRate: 200, maxBodyBytes: 4 * 1024 * 1024 };
    const r = resolveServingLimits(
      { writeBurst: '500', checkpointInterval: '1s' },
      { limits: kept, checkpointInterval: '5s' },
    );
    expect(r.limits).toEqual({ ...kept, writeBurst: 500 });
    expect(r.checkpointInterval).toBe('1s');
    expect(resolveServingLimits({}, { limits: kept, checkpointInterval: '5s' })).toEqual({
      limits: kept,
      checkpointInterval: '5s',
    });
  });

  it('sizes and durations in the forms operators write', () => {
    expect(parseBodySize('1m')).toBe(1048576);
    expect(parseBodySize('512k')).toBe(524288);
    expect(parseBodySize('4MiB')).toBe(4194304);
    expect(parseBodySize('2048')).toBe(2048);
    expect(parseCheckpointInterval('500ms')).toBe(500);
    expect(parseCheckpointInterval('2s')).toBe(2000);
    expect(parseCheckpointInterval('1m')).toBe(60000);
    expect(resolveServingLimits({ proxyReadTimeout: '2m' }).limits.proxyReadTimeoutSec).toBe(120);
  });

  it.each([
    ['writeRate', '0', '--write-rate'],
    ['writeRate', '10r/s', '--write-rate'],
    ['writeRate', '1.5', '--write-rate'],
    ['writeBurst', '-1', '--write-burst'],
    ['maxConnectionsPerClient', '0', '--max-connections-per-client'],
    ['maxConnectionsPerClient', '64; deny all', '--max-connections-per-client'],
    ['maxBody', '100', '--max-body'],
    ['maxBody', '1g', '--max-body'],
    ['maxBody', '1m;', '--max-body'],
    ['proxyReadTimeout', '1', '--proxy-read-timeout'],
    ['proxyReadTimeout', '60h', '--proxy-read-timeout'],
    ['checkpointInterval', '2', '--checkpoint-interval'],
    ['checkpointInterval', '50ms', '--checkpoint-interval'],
    ['checkpointInterval', '1h', '--checkpoint-interval'],
    ['checkpointInterval', '2s --read-only', '--checkpoint-interval'],
  ] as const)('%s %j is a usage error naming %s', (key, value, option) => {
    const e = expectCode(() => resolveServingLimits({ [key]: value }), 'USAGE_BAD_LIMIT');
    expect(e.message.startsWith(option)).toBe(true);
  });

  it('nginx must wait longer than a checkpoint interval (a write waits for the next checkpoint)', () => {
    const e = expectCode(
      () => resolveServingLimits({ proxyReadTimeout: '10', checkpointInterval: '10s' }),
      'USAGE_BAD_LIMIT',
    );
    expect(e.message).toMatch(/--proxy-read-timeout 10s is shorter than --checkpoint-interval 10s/);
    expect(resolveServingLimits({ proxyReadTimeout: '15', checkpointInterval: '10s' }).limits.proxyReadTimeoutSec).toBe(
      15,
    );
  });
});

describe('serving limits: rendered', () => {
  const limits: ServingLimits = {
    writeRate: 123,
    writeBurst: 456,
    maxConnectionsPerClient: 789,
    maxBodyBytes: 2 * 1024 * 1024,
    proxyReadTimeoutSec: 95,
  };
  const vars = (tsa: string) => ({
    instance: 'i',
    hostname: 'log.test',
    origin: 'log.test',
    checkpoint_interval: '3s',
    publish: '127.0.0.1:3443',
    images: { rekor: 'r', nginx: 'n', tsa: 't' },
    paths: { log: '/l', logSigner: '/s', tls: '/t', tsaSigner: '/ts', tsaChain: '/tc' },
    files: { nginx_conf: '/n' },
    tsa,
    limits: servingLimitVars(limits),
  });
  const render = (stack: string, name: string, tsa = '') =>
    renderTemplate(readFileSync(path.join(ROOT, 'templates', stack, name), 'utf8'), vars(tsa), name);

  it.each(['rekor-v2', 'rekor-v1'])('into %s nginx.conf: rate, burst, connections, body and read timeout', (stack) => {
    const conf = render(stack, 'nginx.conf', 'on');
    expect(conf).toMatch(/limit_req_zone \$binary_remote_addr zone=writes:10m rate=123r\/s;/);
    expect(conf).toMatch(/limit_req zone=writes burst=456 nodelay;/);
    expect(conf).toMatch(/limit_conn perip 789;/);
    expect(conf).toMatch(/client_max_body_size 2097152;/);
    expect(conf).toMatch(/proxy_read_timeout 95s;/);
    expect(conf).not.toMatch(
      /rate=10r\/s|burst=20 |limit_conn perip 64;|client_max_body_size 1m;|proxy_read_timeout 60s/,
    );
  });

  it("into rekor-tiles' flags: the body limit and the checkpoint interval", () => {
    const compose = render('rekor-v2', 'compose.yaml');
    expect(compose).toMatch(/--max-request-body-size=2097152\n/);
    expect(compose).toMatch(/--checkpoint-interval=3s\n/);
  });
});
