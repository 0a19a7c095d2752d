/**
 * `rekor-airgap backup drill`: what an auditor asks for — a real backup, restored into a scratch
 * instance on this host, proved, then the scratch instance removed. Prints the figures; any
 * failure fails the drill. The proof is read-only (the served checkpoint is the backup's, and the
 * whole tree re-derives its root): the scratch copy runs beside the live log under the same key,
 * and an entry written there would make the key sign a checkpoint the live log never signed — a
 * fork, which is what a transparency log must never show.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AirgapError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { composeProject, instancePaths } from '../instance/layout.js';
import { requireState } from '../instance/state.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { freePort } from '../util/free-port.js';
import { onInterrupt } from '../util/interrupt.js';
import type { Progress } from '../util/progress.js';
import { backupInstance, type BackupResult } from './backup.js';
import { readBackupPassphrase } from './passphrase.js';
import { restoreInstance, type RestoreResult } from './restore.js';

export interface DrillOptions {
  /** The container engine this command works with (opened once, at the command's edge). */
  engine: Engine;
  instance: string;
  dataDir?: string;
  passphraseFile?: string;
  hooks: string[];
  timeoutSec: number;
  progress: Progress;
}

export interface DrillResult {
  ok: boolean;
  instance: string;
  scratch: string;
  backup?: BackupResult;
  restore?: RestoreResult;
  error?: { code: string; message: string };
  seconds: number;
}

export async function backupDrill(o: DrillOptions): Promise<DrillResult> {
  const started = Date.now();
  const state = await requireState(o.instance, o.dataDir);
  const passphrase = await readBackupPassphrase(o.passphraseFile, instancePaths(state.dataDir).backupPassphrase);
  const scratch = `drill-${randomBytes(4).toString('hex')}`;
  const work = await fsp.mkdtemp(path.join(path.dirname(state.dataDir), '.rekor-airgap-drill-'));
  await fsp.chmod(work, 0o700);
  const scratchDir = path.join(work, scratch);
  const passFile = path.join(work, 'passphrase');
  await writeFileAtomic(passFile, passphrase, 0o600);
  const result: DrillResult = { ok: false, instance: o.instance, scratch, seconds: 0 };
  const removeScratch = async () => {
    await o.engine
      .project(composeProject(scratch), instancePaths(scratchDir).compose)
      .down({ volumes: true })
      .catch(() => undefined);
    await fsp.rm(work, { recursive: true, force: true });
  };
  const undo = onInterrupt(`removing the drill's scratch instance ${scratch}`, removeScratch);
  try {
    o.progress.step(`drill: backup of ${o.instance}`);
    result.backup = await backupInstance({
      engine: o.engine,
      instance: o.instance,
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      out: path.join(work, 'drill.tar'),
      passphraseFile: passFile,
      hooks: o.hooks,
      timeoutSec: o.timeoutSec,
      progress: o.progress,
    });
    const port = await freePort(state.bindAddress === '0.0.0.0' ? '127.0.0.1' : state.bindAddress);
    o.progress.step(`drill: restore into scratch instance ${scratch} (port ${port})`);
    result.restore = await restoreInstance({
      engine: o.engine,
      file: result.backup.file,
      instance: scratch,
      dataDir: scratchDir,
      port,
      passphraseFile: passFile,
      hooks: [],
      forceFork: false,
      trust: [],
      write: false,
      timeoutSec: o.timeoutSec,
      progress: o.progress,
    });
    result.ok = true;
  } catch (e) {
    const err = e as AirgapError;
    result.error = { code: err.code ?? 'INTERNAL_BUG', message: err.message };
  } finally {
    o.progress.step(`drill: removing scratch instance ${scratch}`);
    await removeScratch();
    undo();
    result.seconds = (Date.now() - started) / 1000;
  }
  return result;
}

export function drillFailure(r: DrillResult): AirgapError | undefined {
  return r.ok
    ? undefined
    : new AirgapError('DRILL_FAILED', `backup drill of ${r.instance} failed: [${r.error?.code}] ${r.error?.message}`);
}
