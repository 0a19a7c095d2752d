import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { noteVerifierKey, signNote } from '../../src/tlog/note.js';
import { cosignatureVkey } from '../../src/witness/cosignature.js';

export const WITNESS_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/witness');

/** test/fixtures/witness/go-vectors.json: written by test/go-witness-vectors with the upstream Go code. */
export interface GoVectors {
  logVkey: string;
  witnesses: Array<{ name: string; signerKey: string; noteVkey: string; cosignatureVkey: string }>;
  notes: Array<{ description: string; note: string; cosignedBy: Record<string, number> }>;
}

export function readWitnessFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(WITNESS_FIXTURES, name), 'utf8')) as T;
}

export const ROOT_B64 = Buffer.alloc(32, 7).toString('base64');

/** A checkpoint note signed by a fresh log key. */
export function logNote(origin = 'log.example/test', size = 12, extra: string[] = []) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = [origin, String(size), ROOT_B64, ...extra].join('\n') + '\n';
  return { note: signNote(text, origin, privateKey), text, logVkey: noteVerifierKey(origin, publicKey) };
}

export interface TestWitness {
  name: string;
  priv: KeyObject;
  vkey: string;
}

export function testWitness(name: string): TestWitness {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { name, priv: privateKey, vkey: cosignatureVkey(name, privateKey) };
}
