/**
 * What the log side needs of a witness instance installed here: its facts (readManagedWitness),
 * and registering a log with it (registerLog) — the witness-logs.yaml entry written atomically and
 * idempotently, then the witness restarted (it reads the file when it starts) and waited healthy.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { waitHealthy } from '../engine/wait-healthy.js';
import { logRequest } from '../rekor/log-http.js';
import { silentProgress, type Progress } from '../util/progress.js';
import { instancePaths } from './layout.js';
import { logTargetOf } from './log-target.js';
import { requireState, type InstanceState } from './state.js';
import { readWitnessLogs, withWitnessLog, writeWitnessLogs, type WitnessLog } from './witness-files.js';

export interface ManagedWitness {
  instance: string;
  /** The key name on its cosignatures. */
  name: string;
  /** Its cosignature/v1 vkey. */
  vkey: string;
  /** https://HOSTNAME:PORT */
  url: string;
  hostname: string;
  port: number;
  /** The CA its TLS certificate chains to (the only one to trust for it). */
  caPem: string;
}

async function requireWitness(instanceName: string, dataDir?: string): Promise<InstanceState> {
  const state = await requireState(instanceName, dataDir);
  if (state.kind !== 'witness' || !state.stack.witnessVkey)
    throw new AirgapError('USAGE_INVALID', `instance ${instanceName} is not a witness (it runs ${state.profile})`);
  return state;
}

/** A witness instance installed on this host (`dataDir`: its directory, when not the default). */
export async function readManagedWitness(instanceName: string, dataDir?: string): Promise<ManagedWitness> {
  const s = await requireWitness(instanceName, dataDir);
  const ca = instancePaths(s.dataDir).caCert;
  const caPem = await fsp.readFile(ca, 'utf8').catch((e: Error) => {
    throw new AirgapError('USAGE_CA_UNREADABLE', `cannot read the witness's CA ${ca}: ${e.message}`);
  });
  return {
    instance: s.instance,
    name: s.stack.witnessName ?? s.origin,
    vkey: s.stack.witnessVkey!,
    url: s.url,
    hostname: s.hostname,
    port: s.httpsPort,
    caPem,
  };
}

export interface WitnessContext {
  engine: Engine;
  /** The witness instance. */
  instance: string;
  dataDir?: string;
  timeoutMs?: number;
  progress?: Progress;
}

export interface Registered {
  /** False when the log was registered already, as asked (nothing written, nothing restarted). */
  changed: boolean;
  logs: number;
}

/**
 * Registers `log` with the witness: added to witness-logs.yaml (atomically; a rerun changes nothing),
 * then the witness restarted and waited healthy through its TLS port. Refuses an origin it already
 * cosigns with another key (WITNESS_LOG_CONFLICT).
 */
export async function registerLog(ctx: WitnessContext, log: WitnessLog): Promise<Registered> {
  const state = await requireWitness(ctx.instance, ctx.dataDir);
  const p = instancePaths(state.dataDir);
  const next = withWitnessLog(await readWitnessLogs(p), log);
  if (!next.changed) return { changed: false, logs: next.logs.length };
  await writeWitnessLogs(p, next.logs);
  const progress = ctx.progress ?? silentProgress;
  const timeoutMs = ctx.timeoutMs ?? 120_000;
  progress.step(`restarting the witness of ${state.instance} to read ${p.witnessLogs}`);
  const project = ctx.engine.project(state.project, p.compose);
  await project.stop(['witness']);
  await project.start(['witness']);
  await waitHealthy(ctx.engine.docker, state.project, ['witness', 'nginx'], timeoutMs, progress);
  await waitAnswering(state, timeoutMs);
  return { changed: true, logs: next.logs.length };
}

/** Until the witness answers through nginx's TLS port (/healthz) again. */
async function waitAnswering(state: InstanceState, timeoutMs: number): Promise<void> {
  const ep = (await logTargetOf(state)).endpoint;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const status = await logRequest({ ...ep, timeoutMs: 5000 }, 'GET', '/healthz').then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    if (status === 200) return;
    last = String(status);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new AirgapError(
    'INSTALL_TIMEOUT',
    `the witness of ${state.instance} did not answer within ${timeoutMs} ms (last: ${last})`,
  );
}
