/**
 * This tool, kept in the instance (`tool/node` + `tool/rekor-airgap.mjs`), so the scripts and the
 * timer the install writes run the same code as the CLI, with no Node.js on the host. An install
 * copies it from the verified bundle; a restore copies the running tool when the instance has none.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleVerifyResult } from '../bundle/verify-dir.js';
import { BundleLayout } from '../bundle/layout.js';
import { copyFileAtomic, exists } from '../util/atomic-file.js';
import { packageRoot } from '../util/package-root.js';
import type { InstancePaths } from './layout.js';

export async function installToolFromBundle(p: InstancePaths, verified: BundleVerifyResult): Promise<void> {
  const listed = new Set(verified.manifest.files.map((f) => f.path));
  if (!listed.has(BundleLayout.INSTALLER_JS) || !listed.has(BundleLayout.NODE_RUNTIME)) {
    await ensureTool(p);
    return;
  }
  await fsp.mkdir(p.tool, { recursive: true, mode: 0o755 });
  await verified.copyFile(BundleLayout.INSTALLER_JS, p.toolJs, 0o644);
  await verified.copyFile(BundleLayout.NODE_RUNTIME, p.toolNode, 0o755);
}

/** The running tool as one file: the bundled installer itself, or this checkout's build of it. */
function runningToolJs(): string | undefined {
  const self = fileURLToPath(import.meta.url);
  if (path.basename(self) === 'rekor-airgap.mjs') return self;
  const root = packageRoot();
  return root ? path.join(root, 'dist', 'installer', 'rekor-airgap.mjs') : undefined;
}

/** Gives the instance a tool when it has none; returns false when there is no single-file tool to copy. */
export async function ensureTool(p: InstancePaths): Promise<boolean> {
  if ((await exists(p.toolJs)) && (await exists(p.toolNode))) return true;
  const js = runningToolJs();
  if (!js || !(await exists(js))) return false;
  await fsp.mkdir(p.tool, { recursive: true, mode: 0o755 });
  await copyFileAtomic(js, p.toolJs, { mode: 0o644 });
  await copyFileAtomic(process.execPath, p.toolNode, { mode: 0o755 });
  return true;
}
