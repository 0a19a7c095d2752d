import { sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cosignatureVkey,
  cosignedMessage,
  cosignNote,
  MAX_NOTE_SIGNATURES,
  parseCosignatureVkey,
  verifyCosignature,
} from '../../../src/witness/cosignature.js';
import { expectCode } from '../../helpers/expect-code.js';
import { logNote, readWitnessFixture, testWitness, type GoVectors } from '../../helpers/witness-fixtures.js';

// Keys, a log-signed checkpoint and its cosignatures made by golang.org/x/mod/sumdb/note and
// github.com/transparency-dev/formats/note v0.1.1 (test/go-witness-vectors vectors).
const go = readWitnessFixture<GoVectors>('go-vectors.json');

/** A note's last signature line, decoded. */
function lastBlob(note: string): { prefix: string; blob: Buffer } {
  const lines = note.trimEnd().split('\n');
  const last = lines.pop()!;
  const space = last.lastIndexOf(' ');
  return { prefix: [...lines, last.slice(0, space)].join('\n'), blob: Buffer.from(last.slice(space + 1), 'base64') };
}

function withLastBlob(note: string, blob: Buffer): string {
  return `${lastBlob(note).prefix} ${blob.toString('base64')}\n`;
}

describe('upstream vectors (Go sumdb/note + transparency-dev/formats)', () => {
  it.each(go.witnesses.map((w) => [w.name, w] as const))('reads the cosignature vkey of %s', (_n, w) => {
    const key = parseCosignatureVkey(w.cosignatureVkey);
    expect(key.name).toBe(w.name);
    expect(Buffer.from(key.keyHash).toString('hex')).toBe(w.cosignatureVkey.split('+')[1]);
    // Our encoder writes the same vkey as VKeyToCosignatureV1.
    expect(cosignatureVkey(w.name, key.publicKey)).toBe(w.cosignatureVkey);
  });

  it.each(go.notes.map((n) => [n.description, n] as const))('finds exactly the cosignatures of: %s', (_d, n) => {
    for (const w of go.witnesses) {
      const got = verifyCosignature(n.note, parseCosignatureVkey(w.cosignatureVkey));
      const want = n.cosignedBy[w.name];
      expect(got).toEqual(want === undefined ? undefined : { name: w.name, timestamp: want });
    }
  });

  it("refuses a witness's signed-note vkey (type 0x01) where its cosignature vkey (0x04) belongs", () => {
    const e = expectCode(() => parseCosignatureVkey(go.witnesses[0]!.noteVkey), 'WITNESS_KEY_INVALID');
    expect(e.message).toContain('0x01');
  });
});

describe('when a vkey is not a cosignature/v1 vkey', () => {
  const good = go.witnesses[0]!.cosignatureVkey;
  const [name, hash, key64] = good.split('+') as [string, string, string];
  const raw = Buffer.from(key64, 'base64');
  const withKey = (b: Buffer) => `${name}+${hash}+${b.toString('base64')}`;
  it.each([
    ['empty', ''],
    ['no name', `+${hash}+${key64}`],
    ['a space in the name', `a b+${hash}+${key64}`],
    ['a tab in the name', `a\tb+${hash}+${key64}`],
    ['no hash', `${name}++${key64}`],
    ['a short hash', `${name}+${hash.slice(1)}+${key64}`],
    ['an uppercase hash', `${name}+${hash.toUpperCase()}+${key64}`],
    ['a hash that is not the key hash', `${name}+${hash.slice(0, 7)}${hash[7] === '0' ? '1' : '0'}+${key64}`],
    ['another name (the hash commits to it)', `other.example+${hash}+${key64}`],
    ['base64 that is not base64', `${name}+${hash}+${key64.slice(0, -2)}!!`],
    ['non-canonical base64', `${name}+${hash}+${key64.slice(0, -2)}${key64.at(-2) === 'k' ? 'l' : 'k'}=`],
    ['algorithm byte 0x05', withKey(Buffer.concat([Buffer.from([5]), raw.subarray(1)]))],
    ['algorithm byte 0x01', withKey(Buffer.concat([Buffer.from([1]), raw.subarray(1)]))],
    ['a 31-byte key', withKey(raw.subarray(0, 32))],
    ['a 33-byte key', withKey(Buffer.concat([raw, Buffer.from([0])]))],
  ])('%s: WITNESS_KEY_INVALID', (_what, vkey) => {
    expectCode(() => parseCosignatureVkey(vkey), 'WITNESS_KEY_INVALID');
  });

  it('shows no control characters of a hostile vkey', () => {
    const e = expectCode(() => parseCosignatureVkey(`\x1b[31m+${hash}+${key64}`), 'WITNESS_KEY_INVALID');
    expect(e.message).not.toContain('\x1b');
  });
});

describe('cosignatures we make', () => {
  it('verify with our verifier, at the timestamp given', () => {
    const { note } = logNote();
    const w = testWitness('w.example/1');
    const cosigned = cosignNote(note, w.name, w.priv, 1_700_000_000);
    expect(cosigned.startsWith(note)).toBe(true);
    expect(verifyCosignature(cosigned, parseCosignatureVkey(w.vkey))).toEqual({
      name: w.name,
      timestamp: 1_700_000_000,
    });
  });

  it('refuse to cosign what is not a checkpoint note', () => {
    const w = testWitness('w.example/1');
    expectCode(() => cosignNote('just text\n', w.name, w.priv, 1), 'NOTE_MALFORMED');
    const { note } = logNote();
    expectCode(() => cosignNote(note, w.name, w.priv, -1), 'WITNESS_KEY_INVALID');
    expectCode(() => cosignNote(note, 'a b', w.priv, 1), 'WITNESS_KEY_INVALID');
  });
});

describe('when a cosignature must not count', () => {
  const T = 1_750_000_000;
  const w = testWitness('w.example/1');
  const key = parseCosignatureVkey(w.vkey);
  const { note, text } = logNote();
  const cosigned = cosignNote(note, w.name, w.priv, T);

  it('the note has no line by the key: undefined', () => {
    expect(verifyCosignature(note, key)).toBeUndefined();
  });

  it('the line carries the key hash of another key under the same name', () => {
    const other = testWitness(w.name);
    expect(verifyCosignature(cosignNote(note, w.name, other.priv, T), key)).toBeUndefined();
  });

  it('the line carries the right key hash under another name', () => {
    const renamed = cosigned.replace(`\u2014 ${w.name} `, '\u2014 w.example/2 ');
    expect(verifyCosignature(renamed, key)).toBeUndefined();
  });

  it('the checkpoint text was changed after cosigning', () => {
    const tampered = cosigned.replace(`\n12\n`, '\n13\n');
    expect(tampered).not.toBe(cosigned);
    expect(verifyCosignature(tampered, key)).toBeUndefined();
  });

  it('the timestamp was changed after cosigning', () => {
    const { blob } = lastBlob(cosigned);
    const t = Buffer.from(blob);
    t.writeBigUInt64BE(BigInt(T + 1), 4);
    expect(verifyCosignature(withLastBlob(cosigned, t), key)).toBeUndefined();
  });

  it('another key made the signature (the key hash claimed is right)', () => {
    const other = testWitness(w.name);
    const forged = Buffer.from(lastBlob(cosigned).blob);
    cryptoSign(null, cosignedMessage(text, T), other.priv).copy(forged, 12);
    expect(verifyCosignature(withLastBlob(cosigned, forged), key)).toBeUndefined();
  });

  it('the signature is cut short or has a byte more', () => {
    const { blob } = lastBlob(cosigned);
    expect(verifyCosignature(withLastBlob(cosigned, blob.subarray(0, blob.length - 1)), key)).toBeUndefined();
    expect(verifyCosignature(withLastBlob(cosigned, Buffer.concat([blob, Buffer.from([0])])), key)).toBeUndefined();
  });

  it('the timestamp is past 2^63 - 1 (C2SP), even when signed', () => {
    const big = 1n << 63n;
    const blob = Buffer.from(lastBlob(cosigned).blob);
    blob.writeBigUInt64BE(big, 4);
    cryptoSign(null, cosignedMessage(text, big), w.priv).copy(blob, 12);
    expect(verifyCosignature(withLastBlob(cosigned, blob), key)).toBeUndefined();
  });

  it('the key has two different lines (two timestamps): neither counts', () => {
    const twice = cosignNote(cosigned, w.name, w.priv, T + 60);
    expect(verifyCosignature(twice, key)).toBeUndefined();
    const withJunk = `${cosigned}\u2014 ${w.name} ${Buffer.concat([Buffer.from(key.keyHash), Buffer.alloc(72)]).toString('base64')}\n`;
    expect(verifyCosignature(withJunk, key)).toBeUndefined();
  });

  it('a byte-identical repeat of the line is one cosignature', () => {
    const line = cosigned.slice(note.length);
    expect(verifyCosignature(cosigned + line, key)).toEqual({ name: w.name, timestamp: T });
  });

  it('the note has more signature lines than Go reads: NOTE_MALFORMED', () => {
    const junk = `\u2014 x.example ${Buffer.alloc(76).toString('base64')}\n`;
    expectCode(() => verifyCosignature(cosigned + junk.repeat(MAX_NOTE_SIGNATURES), key), 'NOTE_MALFORMED');
  });

  it('the note is not a checkpoint: NOTE_CHECKPOINT_MALFORMED', () => {
    expectCode(() => verifyCosignature(cosigned.replace('\n12\n', '\nx\n'), key), 'NOTE_CHECKPOINT_MALFORMED');
  });
});
