/**
 * The witness policy the monitor checks cosignatures against: `--witness-policy FILE`, or for an
 * installed instance the `witness-policy.txt` in its config directory, when there is one.
 */
import path from 'node:path';
import { instancePaths } from '../instance/layout.js';
import { isMissingFile, readRegularFile } from '../util/bounded-read.js';
import { parseWitnessPolicy, type WitnessPolicy } from '../witness/policy.js';

export const INSTANCE_POLICY_FILE = 'witness-policy.txt';

export async function readWitnessPolicyFile(file: string): Promise<WitnessPolicy> {
  const bytes = await readRegularFile(file, 1024 * 1024, 'USAGE_UNREADABLE', 'the witness policy');
  return parseWitnessPolicy(bytes.toString('utf8'), file);
}

/** The instance's policy, or undefined when it has none. */
export async function instanceWitnessPolicy(dataDir: string): Promise<WitnessPolicy | undefined> {
  try {
    return await readWitnessPolicyFile(path.join(instancePaths(dataDir).config, INSTANCE_POLICY_FILE));
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
}
