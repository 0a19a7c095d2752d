import { describe, expect, it } from 'vitest';
import { cosignNote, parseCosignatureVkey, verifyCosignature } from '../../../src/witness/cosignature.js';
import { generateWitnessSigner, parseWitnessSigner, witnessVkeyOfSigner } from '../../../src/witness/witness-key.js';
import { expectCode } from '../../helpers/expect-code.js';
import { logNote, readWitnessFixture, type GoVectors } from '../../helpers/witness-fixtures.js';

const go = readWitnessFixture<GoVectors>('go-vectors.json');

describe('witness signer keys', () => {
  it.each(go.witnesses.map((w) => [w.name, w] as const))(
    'the vkey of a Go note.GenerateKey signer key is what VKeyToCosignatureV1 gives: %s',
    (_n, w) => {
      expect(witnessVkeyOfSigner(w.signerKey)).toBe(w.cosignatureVkey);
    },
  );

  it('a generated key cosigns what its vkey verifies', () => {
    const g = generateWitnessSigner('witness.example.internal');
    expect(g.signerKey).toMatch(/^PRIVATE\+KEY\+witness\.example\.internal\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    expect(witnessVkeyOfSigner(g.signerKey)).toBe(g.vkey);
    const s = parseWitnessSigner(g.signerKey);
    const cosigned = cosignNote(logNote().note, s.name, s.privateKey, 5);
    expect(verifyCosignature(cosigned, parseCosignatureVkey(g.vkey))).toEqual({ name: s.name, timestamp: 5 });
  });

  it('a trailing newline (a key file) is read', () => {
    const g = generateWitnessSigner('w.example');
    expect(witnessVkeyOfSigner(`${g.signerKey}\n`)).toBe(g.vkey);
  });

  it('refuses a bad name when generating', () => {
    expectCode(() => generateWitnessSigner('a b'), 'WITNESS_KEY_INVALID');
    expectCode(() => generateWitnessSigner(''), 'WITNESS_KEY_INVALID');
  });

  const good = go.witnesses[0]!.signerKey;
  // The key's base64 may itself hold '+' (this one does).
  const [, , name, hash, ...rest] = good.split('+') as [string, string, string, string, ...string[]];
  const key64 = rest.join('+');
  const raw = Buffer.from(key64, 'base64');
  it.each([
    ['not PRIVATE+KEY', good.replace('PRIVATE+KEY', 'PUBLIC+KEY')],
    ['a vkey', go.witnesses[0]!.noteVkey],
    ['a hash that does not match', `PRIVATE+KEY+${name}+${hash === '00000000' ? '00000001' : '00000000'}+${key64}`],
    ['another name', `PRIVATE+KEY+other.example+${hash}+${key64}`],
    [
      'algorithm byte 0x02',
      `PRIVATE+KEY+${name}+${hash}+${Buffer.concat([Buffer.from([2]), raw.subarray(1)]).toString('base64')}`,
    ],
    ['a short seed', `PRIVATE+KEY+${name}+${hash}+${raw.subarray(0, 32).toString('base64')}`],
  ])('%s: WITNESS_KEY_INVALID, without the key in the message', (_what, text) => {
    const e = expectCode(() => witnessVkeyOfSigner(text), 'WITNESS_KEY_INVALID');
    expect(e.message).not.toContain(key64);
  });
});
