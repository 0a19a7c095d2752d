/** A new or reinstalled log tells each witness instance of this host about itself. */
import { createPublicKey } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import type { InstanceState } from '../instance/state.js';
import { registerLog } from '../instance/witness-registry.js';
import type { LocalWitness } from './witness-options.js';
import { noteVerifierKey } from '../tlog/note.js';
import type { Progress } from '../util/progress.js';

export async function registerLogWithWitnesses(
  engine: Engine,
  state: InstanceState,
  managed: readonly LocalWitness[],
  progress: Progress,
): Promise<void> {
  const vkey = noteVerifierKey(state.origin, createPublicKey(state.logPublicKeyPem));
  for (const witness of managed) {
    progress.step(`registering log ${state.origin} with witness ${witness.instance} (${witness.url})`);
    const r = await registerLog(
      { engine, instance: witness.instance, dataDir: witness.dataDir, progress },
      { origin: state.origin, vkey, url: state.url },
    );
    if (!r.changed) progress.step(`  witness ${witness.instance} knew the log already`);
  }
}
