/**
 * A command's one handle on the container engine, opened here at the CLI's edge and passed down
 * in the command's options. Imported lazily, so commands that need no engine never load dockerode.
 */
import type { Engine } from '../engine/engine.js';

export async function engineForCommand(): Promise<Engine> {
  const { openEngine } = await import('../engine/engine.js');
  return openEngine();
}
