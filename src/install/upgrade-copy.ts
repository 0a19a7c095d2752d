/**
 * An upgrade's safety net: before new images touch the log, the instance is stopped and its whole
 * directory (data, keys, configuration, the tool) copied as it is — owners, modes, sparse files
 * kept (`cp -a`). A failed upgrade puts that copy back and starts the previous release on it.
 */
import { promises as fsp } from 'node:fs';
import { execa } from 'execa';
import { AirgapError } from '../errors.js';
import type { ComposeProject } from '../engine/engine.js';
import type { InstancePaths } from '../instance/layout.js';
import type { InstanceState } from '../instance/state.js';
import type { Progress } from '../util/progress.js';

export function preUpgradeDir(p: InstancePaths): string {
  return `${p.dataDir}.pre-upgrade`;
}

export async function takePreUpgradeCopy(
  project: ComposeProject,
  state: InstanceState,
  p: InstancePaths,
  progress: Progress,
): Promise<string> {
  const copy = preUpgradeDir(p);
  progress.step(`stopping ${state.project} and copying ${p.dataDir} to ${copy} (the data as it was, for a rollback)`);
  await project.stop();
  await fsp.rm(copy, { recursive: true, force: true });
  const r = await execa('cp', ['-a', '--sparse=always', p.dataDir, copy], { reject: false });
  if (r.exitCode !== 0) {
    await fsp.rm(copy, { recursive: true, force: true });
    throw new AirgapError(
      'INSTALL_SERVICE_FAILED',
      `could not copy ${p.dataDir} before the upgrade: ${String(r.stderr).trim()}`,
    );
  }
  return copy;
}

/** Replaces the instance directory with the pre-upgrade copy (the copy is consumed). */
export async function putPreUpgradeCopyBack(copy: string, p: InstancePaths): Promise<void> {
  const failed = `${p.dataDir}.failed-upgrade`;
  await fsp.rm(failed, { recursive: true, force: true });
  await fsp.rename(p.dataDir, failed);
  await fsp.rename(copy, p.dataDir);
  await fsp.rm(failed, { recursive: true, force: true });
}
