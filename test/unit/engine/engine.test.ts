import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import { demuxLogs, engineKindOf, loadImages, servicesReport } from '../../../src/engine/docker.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { containerReady, SETTLE_MS } from '../../../src/engine/wait-healthy.js';
import { publishedPort } from '../../../src/deploy/deploy.js';
import { params } from '../../helpers/fuzz.js';

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
};

describe('the container engine', () => {
  it('tells Podman from Docker by the components /version names', () => {
    // What `curl --unix-socket podman.sock http://d/version` answers (Podman 4.3.1, trimmed).
    expect(
      engineKindOf({ Components: [{ Name: 'Podman Engine' }, { Name: 'Conmon' }, { Name: 'OCI Runtime (runc)' }] }),
    ).toBe('podman');
    expect(
      engineKindOf({
        Components: [{ Name: 'Engine' }, { Name: 'containerd' }, { Name: 'runc' }, { Name: 'docker-init' }],
      }),
    ).toBe('docker');
    expect(engineKindOf({})).toBe('docker');
  });

  it('counts a service without a health check as up only once it has run unrestarted for a while', () => {
    const now = 1_000_000;
    const c = { id: 'x', service: 'trillian-log-server', image: 'i', restartCount: 3 };
    // Just restarted after a crash (its database was not there yet): not up.
    expect(containerReady({ ...c, state: 'running', startedAt: now - 200 }, now)).toBe(false);
    expect(containerReady({ ...c, state: 'running', startedAt: now - SETTLE_MS }, now)).toBe(true);
    expect(containerReady({ ...c, state: 'restarting', startedAt: now - 60_000 }, now)).toBe(false);
    // An engine that does not say when it started: running is all there is to go on.
    expect(containerReady({ ...c, state: 'running' }, now)).toBe(true);
    // With a health check, only "healthy" counts, however long it has run.
    expect(containerReady({ ...c, state: 'running', health: 'starting', startedAt: now - 60_000 }, now)).toBe(false);
    expect(containerReady({ ...c, state: 'running', health: 'healthy', startedAt: now }, now)).toBe(true);
  });

  it('splits a container log into output and errors, keeping the order in the combined text', () => {
    const buf = Buffer.concat([frame(1, '1234\n'), frame(2, 'warning\n'), frame(1, '5678\n')]);
    expect(demuxLogs(buf)).toEqual({ stdout: '1234\n5678\n', stderr: 'warning\n', combined: '1234\nwarning\n5678\n' });
    // A TTY log has no frames: all of it is output.
    expect(demuxLogs(Buffer.from('plain text\n'))).toEqual({
      stdout: 'plain text\n',
      stderr: '',
      combined: 'plain text\n',
    });
  });

  it('demuxLogs never throws and never loses a byte of framed output (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(1 as const, 2 as const), fc.string())), (frames) => {
        const r = demuxLogs(Buffer.concat(frames.map(([s, t]) => frame(s, t))));
        expect(r.combined).toBe(frames.map(([, t]) => t).join(''));
        expect(r.stdout).toBe(
          frames
            .filter(([s]) => s === 1)
            .map(([, t]) => t)
            .join(''),
        );
      }),
      params(),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        demuxLogs(Buffer.from(bytes));
      }),
      params(),
    );
  });

  it('publishes on every address without naming 0.0.0.0 to Podman (netavark 1.4 would match only that address)', () => {
    expect(publishedPort('podman', '0.0.0.0', 4443)).toBe('4443');
    expect(publishedPort('docker', '0.0.0.0', 4443)).toBe('0.0.0.0:4443');
    expect(publishedPort('podman', '127.0.0.1', 4443)).toBe('127.0.0.1:4443');
  });
});

describe('compose failures', () => {
  it('a refused rlimit (Podman as root on a host that may not raise limits) comes with what to change', async () => {
    const { composeFailureHint } = await import('../../../src/engine/compose.js');
    const seen =
      'ERROR: for rekor  Cannot start service rekor: runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied';
    expect(composeFailureHint(seen)).toMatch(/default_ulimits in containers\.conf/);
    expect(composeFailureHint('port is already allocated')).toBe('');
  });
});

describe('servicesReport', () => {
  it('lists each service of the project with its state, restarts and last log lines', async () => {
    const containers: Record<
      string,
      { service: string; status: string; health?: string; restarts: number; logs: Buffer }
    > = {
      c2: {
        service: 'rekor',
        status: 'running',
        restarts: 3,
        logs: Buffer.concat([frame(1, 'completed request\n'), frame(2, 'write timeout\n')]),
      },
      c1: {
        service: 'nginx',
        status: 'running',
        health: 'healthy',
        restarts: 0,
        logs: frame(2, 'upstream prematurely closed connection\n'),
      },
    };
    let filter: unknown;
    const docker = {
      listContainers: async (o: { filters: unknown }) => {
        filter = o.filters;
        return Object.entries(containers).map(([Id, c]) => ({
          Id,
          Labels: { 'com.docker.compose.service': c.service },
          Names: [],
          State: c.status,
          Image: 'i',
        }));
      },
      getContainer: (id: string) => ({
        inspect: async () => ({
          State: {
            Status: containers[id]!.status,
            ...(containers[id]!.health ? { Health: { Status: containers[id]!.health } } : {}),
          },
          RestartCount: containers[id]!.restarts,
        }),
        logs: async () => containers[id]!.logs,
      }),
    } as unknown as Docker;
    const report = await servicesReport(docker, 'rekor-airgap-x');
    expect(filter).toEqual({ label: ['com.docker.compose.project=rekor-airgap-x'] });
    expect(report).toBe(
      [
        '--- nginx (healthy), last log lines:',
        'upstream prematurely closed connection',
        '--- rekor (running, restarted 3×), last log lines:',
        'completed request',
        'write timeout',
      ].join('\n'),
    );
  });

  it('is empty when the project has no containers', async () => {
    const docker = { listContainers: async () => [] } as unknown as Docker;
    expect(await servicesReport(docker, 'p')).toBe('');
  });
});

describe('docker load inside an HTTP 200: its progress lines', () => {
  const engineAnswering = (lines: string[]) =>
    ({ loadImage: async () => Readable.from(lines.map((l) => Buffer.from(`${l}\n`))) }) as unknown as Docker;
  const load = (lines: string[]) => loadImages(engineAnswering(lines), Readable.from([]));

  it('names the images loaded, and skips what is not a JSON object', async () => {
    expect(
      await load([
        '{"stream":"Loaded image: a:1\\n"}',
        'not json',
        '[1,2]',
        '{"stream":"Loaded image ID: sha256:ab\\n"}',
      ]),
    ).toEqual(['a:1', 'sha256:ab']);
  });

  it('fails with the error the engine reported, escaped, whether in errorDetail or error', async () => {
    const a = await expectCodeAsync(
      () => load(['{"errorDetail":{"message":"no space left\\u001b[2J"}}']),
      'ENGINE_LOAD_FAILED',
    );
    expect(a.message).toContain('no space left');
    expect(a.message).not.toContain('\u001b');
    await expectCodeAsync(() => load(['{"error":"invalid tar header"}']), 'ENGINE_LOAD_FAILED');
    await expectCodeAsync(() => load(['{"errorDetail":{}}']), 'ENGINE_LOAD_FAILED');
  });
});
