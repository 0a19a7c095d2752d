/** Runs the built CLI as an operator would, capturing its output and exit code. */
import path from 'node:path';
import { execa, type Options } from 'execa';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/bin/cli.mjs');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: Options = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, all: false, timeout: 900_000, ...opts });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function json<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
