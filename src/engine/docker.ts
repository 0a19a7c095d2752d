/**
 * The Docker engine, through its API (dockerode; DOCKER_HOST is honoured). Loading images streams
 * a docker-archive tar made on the fly from the verified bundle; the engine reports load errors
 * inside an HTTP 200 JSON stream, so that stream is parsed.
 */
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { AirgapError } from '../errors.js';

export interface EngineInfo {
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
    const info = await docker.info() as { DockerRootDir?: string; MemTotal?: number };
    return { apiVersion: v.ApiVersion, version: v.Version, dockerRootDir: info.DockerRootDir ?? '/var/lib/docker', memTotal: info.MemTotal ?? 0 };
  } catch (e) {
    throw new AirgapError('ENGINE_UNREACHABLE', `cannot reach the Docker engine at ${engineAddress()}: ${(e as Error).message} (is dockerd running? set DOCKER_HOST for another socket)`, { cause: e });
  }
}

/** Streams a docker-archive tar into the engine and fails on any error it reports. */
export async function loadImages(docker: Docker, tar: Readable): Promise<string[]> {
  let res: NodeJS.ReadableStream;
  try {
    res = await docker.loadImage(tar, { quiet: true });
  } catch (e) {
    throw new AirgapError('ENGINE_LOAD_FAILED', `the engine refused the image archive: ${(e as Error).message}`, { cause: e });
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
    let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.error || msg.errorDetail) {
      throw new AirgapError('ENGINE_LOAD_FAILED', `docker load failed: ${msg.errorDetail?.message ?? msg.error}`);
    }
    const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? '');
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

export interface ProjectContainer {
  id: string;
  service: string;
  state: string;
  health?: string | undefined;
  image: string;
  restartCount: number;
}

export async function projectContainers(docker: Docker, project: string): Promise<ProjectContainer[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  const out: ProjectContainer[] = [];
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect().catch(() => undefined);
    out.push({
      id: c.Id,
      service: c.Labels['com.docker.compose.service'] ?? c.Names[0] ?? c.Id,
      state: info?.State.Status ?? c.State,
      health: info?.State.Health?.Status,
      image: c.Image,
      restartCount: info?.RestartCount ?? 0,
    });
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : 1));
}
