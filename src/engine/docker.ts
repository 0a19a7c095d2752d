/**
 * The container engine, through its Docker-compatible API (dockerode; DOCKER_HOST is honoured):
 * Docker Engine, or Podman's `podman system service` socket. Loading images streams a
 * docker-archive tar made on the fly from the verified bundle; the engine reports load errors
 * inside an HTTP 200 JSON stream, so that stream is parsed.
 */
import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { AirgapError } from '../errors.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';
import { printable } from '../util/untrusted-text.js';

export type EngineKind = 'docker' | 'podman';

export interface EngineInfo {
  /** Which engine answers on the socket: Podman names itself among the components its `/version` lists. */
  kind: EngineKind;
  /** e.g. "Docker Engine 20.10.24", "Podman 4.3.1". */
  name: string;
  apiVersion: string;
  version: string;
  dockerRootDir: string;
  memTotal: number;
}

export function connectEngine(): Docker {
  return new Docker();
}

export function engineAddress(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

export async function engineInfo(docker: Docker): Promise<EngineInfo> {
  try {
    const v = await docker.version();
    const info = (await docker.info()) as { DockerRootDir?: string; MemTotal?: number };
    const kind = engineKindOf(v);
    return {
      kind,
      name: `${kind === 'podman' ? 'Podman' : 'Docker Engine'} ${v.Version}`,
      apiVersion: v.ApiVersion,
      version: v.Version,
      dockerRootDir: info.DockerRootDir ?? '/var/lib/docker',
      memTotal: info.MemTotal ?? 0,
    };
  } catch (e) {
    throw new AirgapError(
      'ENGINE_UNREACHABLE',
      `cannot reach the Docker engine at ${engineAddress()}: ${(e as Error).message} (is dockerd running? set DOCKER_HOST for another socket)`,
      { cause: e },
    );
  }
}

/** Which engine answers on the socket (Docker when it cannot tell). */
export async function engineKind(docker: Docker): Promise<EngineKind> {
  return engineKindOf(await docker.version().catch(() => ({})));
}

/** Podman's compatible API answers /version with a "Podman Engine" component. */
export function engineKindOf(version: { Components?: Array<{ Name?: string }> }): EngineKind {
  return (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')) ? 'podman' : 'docker';
}

/** Streams a docker-archive tar into the engine and fails on any error it reports. */
export async function loadImages(docker: Docker, tar: Readable): Promise<string[]> {
  let res: NodeJS.ReadableStream;
  try {
    res = await docker.loadImage(tar, { quiet: true });
  } catch (e) {
    throw new AirgapError('ENGINE_LOAD_FAILED', `the engine refused the image archive: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const loaded: string[] = [];
  let buf = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) handle(line);
    }
  }
  if (buf.trim()) handle(buf.trim());
  return loaded;

  function handle(line: string): void {
    // The engine's progress lines; one that is not a JSON object carries nothing to act on.
    let msg: JsonValue;
    try {
      msg = readUntrustedJson(line, { what: "a line of docker load's progress", code: 'ENGINE_LOAD_FAILED' });
      if (!msg.isObject) return;
    } catch {
      return;
    }
    const detail = msg.at('errorDetail');
    const errorText = msg.at('error').raw;
    if (detail.isObject || (errorText !== undefined && errorText !== null && errorText !== '')) {
      const why = (detail.isObject ? detail.at('message').raw : undefined) ?? errorText ?? 'no reason given';
      throw new AirgapError(
        'ENGINE_LOAD_FAILED',
        `docker load failed: ${printable(typeof why === 'string' ? why : JSON.stringify(why))}`,
      );
    }
    const stream = msg.at('stream').raw;
    const m = /Loaded image(?: ID)?: (\S+)/.exec(typeof stream === 'string' ? stream : '');
    if (m) loaded.push(m[1]!);
  }
}

export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

/**
 * Runs a container's health check once, through Podman's own API. Podman schedules health checks
 * with systemd timers; on a host without systemd (or a socket service outside it) nothing runs
 * them, and a container stays "starting" forever. Each run records its result, as a timer's would.
 */
export async function runPodmanHealthCheck(docker: Docker, id: string): Promise<void> {
  // The result is read back from the container's state like Docker's; a failed call changes nothing.
  await new Promise<void>((resolve) => {
    docker.modem.dial(
      {
        path: `/v4.0.0/libpod/containers/${encodeURIComponent(id)}/healthcheck`,
        method: 'GET',
        statusCodes: {
          200: true,
          404: 'no such container',
          409: 'container has no health check or is not running',
          500: 'server error',
        },
        options: {},
      },
      () => resolve(),
    );
  });
}

/**
 * Splits a container log read through the API into its standard output and error: without a TTY
 * each frame has an 8-byte header (stream 1 or 2, then the length). Text without frames is output.
 */
export function demuxLogs(buf: Buffer): { stdout: string; stderr: string; combined: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  let i = 0;
  while (
    i + 8 <= buf.length &&
    (buf[i] === 1 || buf[i] === 2) &&
    buf[i + 1] === 0 &&
    buf[i + 2] === 0 &&
    buf[i + 3] === 0
  ) {
    const len = buf.readUInt32BE(i + 4);
    const frame = buf.subarray(i + 8, i + 8 + len);
    (buf[i] === 2 ? err : out).push(frame);
    all.push(frame);
    i += 8 + len;
  }
  if (i < buf.length) {
    out.push(buf.subarray(i));
    all.push(buf.subarray(i));
  }
  const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
  return { stdout: text(out), stderr: text(err), combined: text(all) };
}

/** A container's last log lines (stdout and stderr together), or "(no logs)". */
export async function lastLogs(docker: Docker, id: string, lines = 25): Promise<string> {
  try {
    const buf = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: lines, timestamps: false })) as unknown as Buffer;
    return demuxLogs(buf).combined.trimEnd() || '(no logs)';
  } catch {
    return '(no logs)';
  }
}

/**
 * Each service of a project as it is now, and its last log lines: what an operator reads when the
 * stack started but does not answer as it should.
 */
export async function servicesReport(docker: Docker, project: string, lines = 12): Promise<string> {
  const parts: string[] = [];
  for (const c of await projectContainers(docker, project).catch(() => [])) {
    const restarts = c.restartCount ? `, restarted ${c.restartCount}×` : '';
    parts.push(
      `--- ${c.service} (${c.health ?? c.state}${restarts}), last log lines:\n${await lastLogs(docker, c.id, lines)}`,
    );
  }
  return parts.join('\n');
}

export interface ProjectContainer {
  id: string;
  service: string;
  state: string;
  health?: string | undefined;
  image: string;
  restartCount: number;
  /** When the container last started (ms since the epoch), if the engine says. */
  startedAt?: number | undefined;
}

function startedAtMs(text: string | undefined): number | undefined {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export async function projectContainers(docker: Docker, project: string): Promise<ProjectContainer[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${project}`] },
  });
  const out: ProjectContainer[] = [];
  for (const c of list) {
    const info = await docker
      .getContainer(c.Id)
      .inspect()
      .catch(() => undefined);
    out.push({
      id: c.Id,
      service: c.Labels['com.docker.compose.service'] ?? c.Names[0] ?? c.Id,
      state: info?.State.Status ?? c.State,
      // Podman reports an empty status for a container without a health check.
      health: info?.State.Health?.Status || undefined,
      image: c.Image,
      restartCount: info?.RestartCount ?? 0,
      startedAt: startedAtMs(info?.State.StartedAt),
    });
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : 1));
}

/**
 * Containers of the project that mount a file replaced since they started. Configuration is
 * written by rename (a new inode), and a running container keeps the file it was started with:
 * a rerun that changed nginx.conf must restart nginx for the change to apply.
 */
export async function containersWithChangedFiles(docker: Docker, project: string): Promise<ProjectContainer[]> {
  const stale: ProjectContainer[] = [];
  for (const c of await projectContainers(docker, project)) {
    if (c.state !== 'running' || c.startedAt === undefined) continue;
    const info = await docker
      .getContainer(c.id)
      .inspect()
      .catch(() => undefined);
    for (const m of info?.Mounts ?? []) {
      if (m.Type !== 'bind') continue;
      const st = await fsp.stat(m.Source).catch(() => undefined);
      if (st?.isFile() && st.mtimeMs > c.startedAt) {
        stale.push(c);
        break;
      }
    }
  }
  return stale;
}
