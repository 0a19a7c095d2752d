/**
 * Running the CLI on the "offline host": inside the rig's network namespace (loopback only) and
 * against its air-gapped engine, as an operator at the site would.
 */
import { execFileSync } from 'node:child_process';
import type { Options } from 'execa';
import { CLI, runCli, type CliResult } from './cli.js';
import type { Rig } from './rig.js';

export function offlineEnv(r: Rig): Record<string, string> {
  return { DOCKER_HOST: r.offlineDockerHost };
}

export async function runOffline(
  r: Rig,
  args: string[],
  opts: Options & { env?: Record<string, string> } = {},
): Promise<CliResult> {
  const { execa } = await import('execa');
  const res = await execa(
    '/usr/bin/nsenter',
    [`--net=/var/run/netns/${r.offlineNetns}`, process.execPath, CLI, ...args],
    {
      reject: false,
      timeout: 900_000,
      ...opts,
      env: { ...offlineEnv(r), ...(opts.env ?? {}) },
    },
  );
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout ?? ''), stderr: String(res.stderr ?? '') };
}

/** The CLI on the second air-gapped host: its own namespace (loopback only) and a Podman engine. */
export async function runOnPodman(
  r: Rig,
  args: string[],
  opts: Options & { env?: Record<string, string> } = {},
): Promise<CliResult> {
  const { execa } = await import('execa');
  const res = await execa(
    '/usr/bin/nsenter',
    [`--net=/var/run/netns/${r.podmanNetns}`, process.execPath, CLI, ...args],
    {
      reject: false,
      timeout: 900_000,
      ...opts,
      env: { DOCKER_HOST: r.podmanDockerHost, ...(opts.env ?? {}) },
    },
  );
  return { exitCode: res.exitCode ?? -1, stdout: String(res.stdout ?? ''), stderr: String(res.stderr ?? '') };
}

/** A command in the offline namespace (rekor-cli, go-checker, curl). */
export function inOffline(r: Rig, cmd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('nsenter', [`--net=/var/run/netns/${r.offlineNetns}`, cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function offlineDocker(r: Rig, ...args: string[]): string {
  return execFileSync('/usr/bin/docker', ['-H', r.offlineDockerHost, ...args], { encoding: 'utf8' });
}

/** Containers of a compose project on the air-gapped engine. */
export function projectContainerNames(r: Rig, project: string): string[] {
  return offlineDocker(
    r,
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--format',
    '{{.Names}}',
  )
    .split('\n')
    .filter(Boolean);
}

export { runCli };

/**
 * A TCP port nobody listens on inside the offline namespace (where installs publish theirs),
 * chosen by the kernel; tests never assume a fixed port is free.
 */
export function freeOfflinePort(r: Rig): number {
  const out = execFileSync(
    'nsenter',
    [
      `--net=/var/run/netns/${r.offlineNetns}`,
      process.execPath,
      '-e',
      "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})",
    ],
    { encoding: 'utf8' },
  );
  return Number(out.trim());
}
