/**
 * The one handle on the container engine a command works with: the Docker-compatible API
 * (Docker or Podman, through DOCKER_HOST), which of the two it is, and Compose. It is opened once,
 * at the command's edge, and passed down in every context; every compose argument list for
 * bringing a project up or down is spelled here and nowhere else.
 */
import type Docker from 'dockerode';
import { detectCompose, type Compose } from './compose.js';
import { connectEngine, engineKind, type EngineKind } from './docker.js';

/** Seconds a service gets to stop before it is killed (rekor-tiles flushes its tiles, MariaDB its pages). */
export const STOP_TIMEOUT_SEC = 30;

export interface Engine {
  readonly docker: Docker;
  /** Docker or Podman (asked once). */
  kind(): Promise<EngineKind>;
  /** Compose, found on first use: a command that only reads containers needs none. */
  compose(): Promise<Compose>;
  /** One compose project (an instance's services, from its compose file). */
  project(name: string, file: string): ComposeProject;
}

export interface ComposeProject {
  readonly name: string;
  /** Starts the services named, or every service (removing those the file no longer has). */
  up(services?: readonly string[]): Promise<void>;
  /** Stops and removes the project's containers and networks; `volumes` removes its volumes too. */
  down(opts?: { volumes?: boolean }): Promise<void>;
  /** Stops the services named, or every service, keeping the containers. */
  stop(services?: readonly string[]): Promise<void>;
  /** Starts services that were stopped. */
  start(services: readonly string[]): Promise<void>;
  /** Any other compose command (exec, run). */
  run(args: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** A command whose output goes to a file (a database dump). */
  stream(args: string[], io: { stdoutFile: string; timeoutMs?: number }): Promise<void>;
}

/** The engine of DOCKER_HOST; `parts` given are used as they are (a test's fakes). */
export function openEngine(parts: { docker?: Docker; compose?: Compose } = {}): Engine {
  const docker = parts.docker ?? connectEngine();
  let kind: Promise<EngineKind> | undefined;
  let compose: Promise<Compose> | undefined = parts.compose ? Promise.resolve(parts.compose) : undefined;
  const engine: Engine = {
    docker,
    kind: () => (kind ??= engineKind(docker)),
    compose: () => (compose ??= detectCompose()),
    project: (name, file) => composeProject(engine, name, file),
  };
  return engine;
}

/** The name people know the compose tool by, for progress lines. */
export function composeToolName(c: Compose): string {
  return c.kind === 'v1' ? 'docker-compose' : 'docker compose';
}

function composeProject(engine: Engine, name: string, file: string): ComposeProject {
  const run = async (args: string[], opts?: { timeoutMs?: number }) =>
    (await engine.compose()).run(name, file, args, opts);
  return {
    name,
    up: async (services) => {
      await run(services?.length ? ['up', '-d', ...services] : ['up', '-d', '--remove-orphans']);
    },
    down: async (opts = {}) => {
      await run([
        'down',
        '--remove-orphans',
        ...(opts.volumes ? ['--volumes'] : []),
        '--timeout',
        String(STOP_TIMEOUT_SEC),
      ]);
    },
    stop: async (services = []) => {
      await run(['stop', '--timeout', String(STOP_TIMEOUT_SEC), ...services]);
    },
    start: async (services) => {
      await run(['start', ...services]);
    },
    run,
    stream: async (args, io) => (await engine.compose()).stream(name, file, args, io),
  };
}
