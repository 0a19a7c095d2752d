/**
 * What we make, checked by the upstream Go code. With WRITE_WITNESS_VECTORS=1 this file writes
 * test/fixtures/witness/ours.json (notes cosigned by cosignNote, signer keys made by
 * generateWitnessSigner); then
 *   cd test/go-witness-vectors && go run . check -in ../fixtures/witness/ours.json -out ../fixtures/witness/ours.go-verdicts.json
 * verifies them with transparency-dev/formats (NewVerifierForCosignatureV1, NewSignerForCosignatureV1,
 * as omniwitness reads --private_key_path) and records the verdicts, which are committed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cosignNote, parseCosignatureVkey, verifyCosignature } from '../../../src/witness/cosignature.js';
import { generateWitnessSigner, parseWitnessSigner } from '../../../src/witness/witness-key.js';
import { logNote, WITNESS_FIXTURES } from '../../helpers/witness-fixtures.js';

interface Ours {
  logVkey: string;
  notes: Array<{ note: string; witnesses: string[] }>;
  signers: Array<{ signerKey: string; vkey: string }>;
}

const OURS = path.join(WITNESS_FIXTURES, 'ours.json');
const VERDICTS = path.join(WITNESS_FIXTURES, 'ours.go-verdicts.json');

function writeOurs(): void {
  const signers = [
    generateWitnessSigner('witness-a.example.internal'),
    generateWitnessSigner('witness-b.example.internal'),
  ];
  const [a, b] = signers.map((s) => parseWitnessSigner(s.signerKey)) as [
    ReturnType<typeof parseWitnessSigner>,
    ReturnType<typeof parseWitnessSigner>,
  ];
  const plain = logNote('log.example.internal/ours', 7, ['extension line']);
  const notes = [
    { note: cosignNote(plain.note, a.name, a.privateKey, 1_790_000_000), witnesses: [a.vkey] },
    {
      note: cosignNote(
        cosignNote(plain.note, a.name, a.privateKey, 1_790_000_001),
        b.name,
        b.privateKey,
        1_790_000_002,
      ),
      witnesses: [a.vkey, b.vkey],
    },
  ];
  const ours: Ours = { logVkey: plain.logVkey, notes, signers };
  writeFileSync(OURS, JSON.stringify(ours, null, 2) + '\n');
}

describe('our cosignatures and signer keys, as the upstream Go code read them', () => {
  if (process.env.WRITE_WITNESS_VECTORS === '1') writeOurs();
  const raw = readFileSync(OURS);
  const ours = JSON.parse(raw.toString('utf8')) as Ours;
  const verdicts = JSON.parse(readFileSync(VERDICTS, 'utf8')) as {
    inputSha256: string;
    verdicts: Array<{ item: string; ok: boolean }>;
  };

  it('the recorded Go verdicts are for these vectors, and every one passed', () => {
    expect(verdicts.inputSha256).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(verdicts.verdicts).toHaveLength(ours.notes.length + ours.signers.length);
    for (const v of verdicts.verdicts) expect(v.ok, v.item).toBe(true);
  });

  it('our verifier reads the same notes', () => {
    for (const n of ours.notes)
      for (const vkey of n.witnesses) expect(verifyCosignature(n.note, parseCosignatureVkey(vkey))).toBeDefined();
  });

  it("each signer key's vkey is the one derived from the key text", () => {
    for (const s of ours.signers) expect(parseWitnessSigner(s.signerKey).vkey).toBe(s.vkey);
  });
});

describe('a cosignature made by a running omniwitness', () => {
  // test/fixtures/witness/omniwitness-cosigned.json: omniwitness started with
  // --private_key_path holding a key from generateWitnessSigner, its answer to POST /add-checkpoint
  // appended to the log-signed checkpoint.
  const f = JSON.parse(readFileSync(path.join(WITNESS_FIXTURES, 'omniwitness-cosigned.json'), 'utf8')) as {
    witnessVkey: string;
    note: string;
  };
  it('verifies with our verifier', () => {
    const c = verifyCosignature(f.note, parseCosignatureVkey(f.witnessVkey));
    expect(c?.name).toBe('witness.example.internal');
    expect(c?.timestamp).toBeGreaterThan(1_700_000_000);
  });
});
