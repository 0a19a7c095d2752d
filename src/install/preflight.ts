/**
 * Preflight checks before anything is loaded or started. Each check has a name the operator can
 * pass to --skip-check; results are collected into a report.
 */
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AggregateAirgapError, AirgapError } from '../errors.js';
import type { Compose } from '../engine/compose.js';
import type { Engine } from '../engine/engine.js';
import { engineInfo, type EngineInfo } from '../engine/docker.js';
import { formatBytes } from '../util/progress.js';

import type { CheckName } from './check-names.js';
export { CHECK_NAMES, type CheckName } from './check-names.js';

export interface CheckResult {
  name: CheckName;
  status: 'ok' | 'failed' | 'skipped';
  message: string;
}

export interface PreflightInput {
  engine: Engine;
  dataDir: string;
  bindAddress: string;
  ports: number[];
  /** Ports this instance already holds (rerun/upgrade): not "busy". */
  ownPorts: number[];
  imageBytes: number;
  minMemory: number;
  bundleCreatedAt: string;
  skip: readonly string[];
}

export interface PreflightResult {
  checks: CheckResult[];
  engine?: EngineInfo;
  compose?: Compose;
}

const MIN_API = '1.41';

function apiAtLeast(have: string, want: string): boolean {
  const [a1 = 0, a2 = 0] = have.split('.').map(Number);
  const [b1 = 0, b2 = 0] = want.split('.').map(Number);
  return a1 > b1 || (a1 === b1 && a2 >= b2);
}

async function freeBytes(dir: string): Promise<{ path: string; free: number }> {
  let p = path.resolve(dir);
  for (;;) {
    try {
      const s = await fsp.statfs(p);
      return { path: p, free: s.bavail * s.bsize };
    } catch {
      const up = path.dirname(p);
      if (up === p) throw new Error(`no filesystem found for ${dir}`);
      p = up;
    }
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const checks: CheckResult[] = [];
  const result: PreflightResult = { checks };
  const run = async (name: CheckName, fn: () => Promise<string>) => {
    if (input.skip.includes(name)) {
      checks.push({ name, status: 'skipped', message: 'skipped with --skip-check' });
      return;
    }
    try {
      checks.push({ name, status: 'ok', message: await fn() });
    } catch (e) {
      checks.push({ name, status: 'failed', message: (e as Error).message });
    }
  };
  await run('engine', async () => {
    const info = await engineInfo(input.engine.docker);
    result.engine = info;
    if (!apiAtLeast(info.apiVersion, MIN_API))
      throw new Error(
        `${info.name}: its Docker-compatible API ${info.apiVersion} is older than ${MIN_API} (Docker Engine 20.10, Podman 4)`,
      );
    if (info.kind === 'podman' && !apiAtLeast(info.version, '4.0'))
      throw new Error(`${info.name} is older than Podman 4.0, whose Docker-compatible API compose needs`);
    return `${info.name}, API ${info.apiVersion}${info.kind === 'podman' ? " (health checks are run through Podman's API)" : ''}`;
  });
  await run('compose', async () => {
    const c = await input.engine.compose();
    result.compose = c;
    return `${c.kind === 'v1' ? 'docker-compose' : 'docker compose'} ${c.version}`;
  });
  await run('disk', async () => {
    const need = input.imageBytes * 3 + 512 * 1024 * 1024;
    const where = await freeBytes(input.dataDir);
    if (where.free < need)
      throw new Error(
        `${formatBytes(where.free)} free on ${where.path}, need ${formatBytes(need)} (images unpacked plus data)`,
      );
    let msg = `${formatBytes(where.free)} free on ${where.path}`;
    if (result.engine) {
      const root = await freeBytes(result.engine.dockerRootDir).catch(() => undefined);
      if (root && root.free < input.imageBytes * 3)
        throw new Error(
          `${formatBytes(root.free)} free on the engine's ${root.path}, need ${formatBytes(input.imageBytes * 3)} for the images`,
        );
      if (root) msg += `, ${formatBytes(root.free)} on ${root.path}`;
    }
    return msg;
  });
  await run('ports', async () => {
    const busy: number[] = [];
    for (const p of input.ports)
      if (!input.ownPorts.includes(p) && !(await portFree(input.bindAddress, p))) busy.push(p);
    if (busy.length)
      throw new Error(`port ${busy.join(', ')} on ${input.bindAddress} is in use (choose another with --port)`);
    return `port ${input.ports.join(', ')} on ${input.bindAddress} ${input.ownPorts.length ? 'free or held by this instance' : 'free'}`;
  });
  await run('memory', async () => {
    const total = result.engine?.memTotal || os.totalmem();
    if (total < input.minMemory)
      throw new Error(`${formatBytes(total)} of memory, need ${formatBytes(input.minMemory)}`);
    return `${formatBytes(total)} of memory`;
  });
  await run('clock', async () => {
    const created = Date.parse(input.bundleCreatedAt);
    if (Number.isFinite(created) && Date.now() < created - 5 * 60_000) {
      throw new Error(
        `the clock (${new Date().toISOString()}) is behind the bundle's creation time (${input.bundleCreatedAt}); fix the time before a log signs checkpoints with it`,
      );
    }
    return `clock ${new Date().toISOString()} not behind the bundle (${input.bundleCreatedAt})`;
  });
  return result;
}

export function failPreflight(checks: CheckResult[]): void {
  const failed = checks.filter((c) => c.status === 'failed');
  if (!failed.length) return;
  const faults = failed.map(
    (c) => new AirgapError(`PREFLIGHT_${c.name.toUpperCase() as Uppercase<CheckName>}`, `${c.name}: ${c.message}`),
  );
  // An engine that cannot be reached is the cause to act on first (other checks may fail because of it).
  if (failed.some((c) => c.name === 'engine')) {
    const engine = faults.find((f) => f.code === 'PREFLIGHT_ENGINE')!;
    if (faults.length === 1) throw new AirgapError('ENGINE_UNREACHABLE', engine.message);
    throw new AggregateAirgapError(
      'ENGINE_UNREACHABLE',
      'preflight failed: the Docker engine is not usable (fix it first; other checks failed too):',
      faults,
    );
  }
  const only = faults.length === 1 ? faults[0]! : undefined;
  throw new AggregateAirgapError(
    only?.code ?? 'PREFLIGHT_FAILED',
    `preflight failed (skip a check with --skip-check NAME):`,
    faults,
  );
}
