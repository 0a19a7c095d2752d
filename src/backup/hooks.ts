/**
 * Backup hooks: an executable the operator names with --with, run as `HOOK backup` (its standard
 * output goes into the archive, e.g. a pg_dump of the application store beside the log) and as
 * `HOOK restore` (that output comes back on its standard input). Run while the log's writes are
 * paused, so the application store and the log are taken at the same moment.
 */
import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { AirgapError } from '../errors.js';

export interface Hook {
  name: string;
  file: string;
}

export async function resolveHooks(files: readonly string[]): Promise<Hook[]> {
  const hooks: Hook[] = [];
  for (const f of files) {
    const file = path.resolve(f);
    try {
      await fsp.access(file, constants.X_OK);
    } catch {
      throw new AirgapError('BACKUP_HOOK_FAILED', `hook ${file} is missing or not executable`);
    }
    const name =
      path
        .basename(file)
        .replace(/\.[^.]*$/, '')
        .replace(/[^\w.-]/g, '_')
        .slice(0, 64) || 'hook';
    if (hooks.some((h) => h.name === name))
      throw new AirgapError('BACKUP_HOOK_FAILED', `two hooks are named ${name}; give them different file names`);
    hooks.push({ name, file });
  }
  return hooks;
}

export async function runHook(
  hook: Hook,
  phase: 'backup' | 'restore',
  io: { stdoutFile?: string; stdinFile?: string },
  instance: string,
  timeoutMs: number,
): Promise<void> {
  const r = await execa(hook.file, [phase], {
    reject: false,
    timeout: timeoutMs,
    env: { REKOR_AIRGAP_INSTANCE: instance, REKOR_AIRGAP_HOOK_PHASE: phase },
    ...(io.stdoutFile ? { stdout: { file: io.stdoutFile } } : {}),
    ...(io.stdinFile ? { inputFile: io.stdinFile } : { stdin: 'ignore' as const }),
  });
  if (r.exitCode !== 0) {
    throw new AirgapError(
      'BACKUP_HOOK_FAILED',
      `hook ${hook.file} ${phase} failed (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim().split('\n').slice(-5).join('\n')}`,
    );
  }
}

export function hookArchivePath(name: string): string {
  return `hook/${name}.out`;
}
