/**
 * Docker Compose: the v2 plugin (`docker compose`) when present, else v1 (`docker-compose`), run
 * with execa against the same engine (DOCKER_HOST).
 */
import { execa } from 'execa';
import { AirgapError } from '../errors.js';

export interface Compose {
  kind: 'v2-plugin' | 'v1';
  version: string;
  run(
    project: string,
    file: string,
    args: string[],
    opts?: { timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string }>;
  /**
   * Runs a command whose output goes to a file (a database dump). Not for input: docker-compose v1
   * never closes an exec's standard input.
   */
  stream(project: string, file: string, args: string[], io: { stdoutFile: string; timeoutMs?: number }): Promise<void>;
}

async function tryVersion(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const r = await execa(cmd, args, { reject: false, timeout: 20_000 });
    return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function detectCompose(): Promise<Compose> {
  const forced = process.env.REKOR_AIRGAP_COMPOSE;
  const v2 = forced === 'v1' ? undefined : await tryVersion('docker', ['compose', 'version', '--short']);
  if (v2) return make('v2-plugin', v2, 'docker', ['compose']);
  const v1 = forced === 'v2' ? undefined : await tryVersion('docker-compose', ['version', '--short']);
  if (v1) return make('v1', v1, 'docker-compose', []);
  throw new AirgapError(
    'PREFLIGHT_COMPOSE_MISSING',
    'Docker Compose is not available: neither the docker compose plugin nor docker-compose was found on PATH',
  );
}

/** What an operator can do about a failure the engine reported, when it is a known one. */
export function composeFailureHint(stderr: string): string {
  if (/error setting rlimit/.test(stderr)) {
    return (
      '\nhint: the engine asked for a larger open-file or process limit than this host lets it set (Podman as root asks for the maximum); ' +
      "set default_ulimits in containers.conf to the limits of the engine's own process (see /proc/<pid>/limits)"
    );
  }
  return '';
}

function make(kind: Compose['kind'], version: string, cmd: string, prefix: string[]): Compose {
  return {
    kind,
    version,
    async run(project, file, args, opts = {}) {
      const r = await execa(cmd, [...prefix, '-p', project, '-f', file, ...args], {
        reject: false,
        timeout: opts.timeoutMs ?? 600_000,
        env: { COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
      if (r.exitCode !== 0) {
        throw new AirgapError(
          'COMPOSE_FAILED',
          `${cmd} ${[...prefix, ...args].join(' ')} (project ${project}) failed: ${String(r.stderr).trim().split('\n').slice(-8).join('\n')}${composeFailureHint(String(r.stderr))}`,
        );
      }
      return { stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async stream(project, file, args, io) {
      const r = await execa(cmd, [...prefix, '-p', project, '-f', file, ...args], {
        reject: false,
        timeout: io.timeoutMs ?? 3_600_000,
        env: { COMPOSE_INTERACTIVE_NO_CLI: '1' },
        stdout: { file: io.stdoutFile },
        stdin: 'ignore',
      });
      if (r.exitCode !== 0) {
        throw new AirgapError(
          'COMPOSE_FAILED',
          `${cmd} ${[...prefix, ...args].join(' ')} (project ${project}) failed: ${String(r.stderr).trim().split('\n').slice(-8).join('\n')}`,
        );
      }
    },
  };
}
