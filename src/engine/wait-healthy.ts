/**
 * Waits until every service of a compose project runs, and those with a health check are healthy.
 * A service without a health check must have kept running for SETTLE_MS: one that crashes at start
 * and is restarted by the engine is "running" for an instant, which is not ready.
 * On timeout or a dead service, the error carries the failing service's last log lines.
 */
import type Docker from 'dockerode';
import { AirgapError } from '../errors.js';
import {
  engineKind,
  lastLogs,
  projectContainers,
  runPodmanHealthCheck,
  type ProjectContainer,
} from '../engine/docker.js';
import type { Progress } from '../util/progress.js';

/** How long a service without a health check must have run, unrestarted, to count as up. */
export const SETTLE_MS = 5000;

/** Whether one container is ready: healthy if it has a check, else running for SETTLE_MS. */
export function containerReady(c: ProjectContainer, now: number): boolean {
  if (c.state !== 'running') return false;
  if (c.health !== undefined) return c.health === 'healthy';
  return c.startedAt === undefined || now - c.startedAt >= SETTLE_MS;
}

export async function waitHealthy(
  docker: Docker,
  project: string,
  services: string[],
  timeoutMs: number,
  progress: Progress,
): Promise<ProjectContainer[]> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new AirgapError('USAGE_BAD_TIMEOUT', `timeout ${timeoutMs} ms is not a positive number`);
  const deadline = Date.now() + timeoutMs;
  let last: ProjectContainer[];
  let reported = '';
  // Podman without systemd never runs health checks on its own: they are run here, each poll.
  const podman = (await engineKind(docker)) === 'podman';
  for (;;) {
    last = await projectContainers(docker, project);
    if (podman) {
      const checked = last.filter(
        (c) =>
          services.includes(c.service) && c.state === 'running' && c.health !== undefined && c.health !== 'healthy',
      );
      for (const c of checked) await runPodmanHealthCheck(docker, c.id);
      if (checked.length) last = await projectContainers(docker, project);
    }
    const byService = new Map(last.map((c) => [c.service, c]));
    const missing = services.filter((s) => !byService.has(s));
    const dead = last.find((c) => services.includes(c.service) && (c.state === 'exited' || c.state === 'dead'));
    if (dead) {
      throw new AirgapError(
        'INSTALL_SERVICE_FAILED',
        `service ${dead.service} stopped (${dead.state}); its last log lines:\n${await lastLogs(docker, dead.id)}`,
        { details: { service: dead.service } },
      );
    }
    const now = Date.now();
    const waiting = last.filter((c) => services.includes(c.service) && !containerReady(c, now));
    if (!missing.length && !waiting.length) return last;
    const key =
      waiting.map((c) => `${c.service}: ${c.health ?? c.state}`).join(', ') || `waiting for ${missing.join(', ')}`;
    const shown =
      waiting
        .map((c) => `${c.service}: ${c.health ?? c.state}${c.restartCount ? ` (restarted ${c.restartCount}×)` : ''}`)
        .join(', ') || key;
    if (key !== reported) {
      progress.step(`  ${shown}`);
      reported = key;
    }
    if (Date.now() > deadline) {
      const culprit =
        waiting.find((c) => c.health === 'unhealthy') ??
        [...waiting].sort((a, b) => b.restartCount - a.restartCount)[0];
      const logs = culprit ? `\nlast log lines of ${culprit.service}:\n${await lastLogs(docker, culprit.id)}` : '';
      throw new AirgapError(
        'INSTALL_TIMEOUT',
        `services not healthy within ${Math.round(timeoutMs / 1000)} s (${shown})${logs}`,
        { details: { service: culprit?.service } },
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
