/**
 * A one-off container of a compose service (`run`), its output read from the engine's log of it
 * rather than from compose's attached stream: docker-compose v1 sometimes loses the output of a
 * container that exits quickly, and against Podman's API it loses it every time. The container is
 * started detached under a name of our own, waited for, read, and removed.
 */
import { randomBytes } from 'node:crypto';
import { AirgapError } from '../errors.js';
import type { ComposeProject, Engine } from './engine.js';
import { demuxLogs } from './docker.js';

export interface OneOffResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `compose run -d --name N <runArgs>`; runArgs are what follows `run` (options, service, command).
 * Resolves with the exit code and output, whatever the exit code; removes the container.
 */
export async function runOneOff(
  engine: Engine,
  project: ComposeProject,
  runArgs: string[],
  timeoutMs = 120_000,
): Promise<OneOffResult> {
  const name = `${project.name}-oneoff-${randomBytes(4).toString('hex')}`;
  const c = engine.docker.getContainer(name);
  try {
    await project.run(['run', '-d', '--name', name, ...runArgs], { timeoutMs });
    const waited = await Promise.race([
      c.wait() as Promise<{ StatusCode?: number }>,
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new AirgapError(
                'COMPOSE_FAILED',
                `one-off container ${name} (${runArgs.join(' ')}) did not finish within ${Math.round(timeoutMs / 1000)} s`,
              ),
            ),
          timeoutMs,
        ).unref(),
      ),
    ]);
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const { stdout, stderr } = demuxLogs(logs);
    return { exitCode: waited.StatusCode ?? -1, stdout, stderr };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
