/** Rekor v1: create the Trillian log tree once (createtree), retried while Trillian starts. */
import { AirgapError } from '../errors.js';
import type { Compose } from '../engine/compose.js';

export async function createTree(compose: Compose, project: string, composeFile: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await compose.run(project, composeFile, ['run', '--rm', '-T', 'createtree'], { timeoutMs: 120_000 });
      const id = r.stdout.trim().split(/\s+/).pop() ?? '';
      if (/^\d+$/.test(id)) return id;
      last = `unexpected output: ${r.stdout.slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new AirgapError('INSTALL_TREE_FAILED', `could not create the Trillian tree: ${last}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}
