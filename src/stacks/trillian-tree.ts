/** Rekor v1: create the Trillian log tree once (createtree), retried while Trillian starts. */
import { AirgapError } from '../errors.js';
import type { ComposeProject, Engine } from '../engine/engine.js';
import { runOneOff } from '../engine/one-off.js';

export async function createTree(engine: Engine, project: ComposeProject, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const r = await runOneOff(engine, project, ['createtree'], 120_000);
      const id = r.stdout.trim().split(/\s+/).pop() ?? '';
      // A tree was made exactly when createtree exits 0; its ID is the last word it prints.
      if (r.exitCode === 0 && /^\d+$/.test(id)) return id;
      if (r.exitCode === 0)
        throw new AirgapError(
          'INSTALL_TREE_FAILED',
          `createtree succeeded but printed no tree ID: ${r.stdout.slice(0, 200)}${r.stderr.slice(-300)}`,
        );
      last = `createtree exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`;
    } catch (e) {
      if ((e as AirgapError).code === 'INSTALL_TREE_FAILED') throw e;
      last = (e as Error).message;
    }
    if (Date.now() > deadline)
      throw new AirgapError('INSTALL_TREE_FAILED', `could not create the Trillian tree: ${last}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}
