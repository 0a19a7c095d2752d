import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ed25519PublicKeyFromRaw,
  formatCheckpointBody,
  logKeyId,
  parseCheckpointBody,
  parseSignedNote,
  signNote,
  verifyCheckpointSignedByLogKey,
  verifyNoteSignedByKey,
} from '../../../src/tlog/note.js';
import { expectCode } from '../../helpers/expect-code.js';

// The example of the C2SP signed-note spec and golang.org/x/mod/sumdb/note.
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
const vkeyRaw = Buffer.from(VKEY.split('+')[2]!, 'base64');
const peterKey = ed25519PublicKeyFromRaw(vkeyRaw.subarray(1));

describe('signed notes (C2SP vector)', () => {
  it('computes the spec key hash c74f20a3', () => {
    expect(Buffer.from(logKeyId('PeterNeumann', peterKey).slice(0, 4)).toString('hex')).toBe('c74f20a3');
  });

  it('verifies the spec example', () => {
    expect(verifyNoteSignedByKey(NOTE, 'PeterNeumann', peterKey).text).toBe(TEXT);
  });

  describe('when the text is changed', () => {
    it('fails with NOTE_SIGNATURE_INVALID', () => {
      expectCode(
        () => verifyNoteSignedByKey(NOTE.replace('cryptography', 'cryptographY'), 'PeterNeumann', peterKey),
        'NOTE_SIGNATURE_INVALID',
      );
    });
  });

  describe('when the signature blob has any byte flipped', () => {
    it('fails every time', () => {
      const line = NOTE.split('\n').at(-2)!;
      const blob = Buffer.from(line.split(' ').at(-1)!, 'base64');
      for (let i = 0; i < blob.length; i++) {
        const bad = Buffer.from(blob);
        bad[i] = bad[i]! ^ 0x01;
        const note = NOTE.replace(blob.toString('base64'), bad.toString('base64'));
        const code = i < 4 ? 'NOTE_KEY_NOT_FOUND' : 'NOTE_SIGNATURE_INVALID';
        expectCode(() => verifyNoteSignedByKey(note, 'PeterNeumann', peterKey), code);
      }
    });
  });

  describe('when the note is malformed', () => {
    it('fails with NOTE_MALFORMED', () => {
      expectCode(() => parseSignedNote(TEXT), 'NOTE_MALFORMED');
      expectCode(() => parseSignedNote(`${TEXT}\nPeterNeumann abc=\n`), 'NOTE_MALFORMED');
      expectCode(() => parseSignedNote(`${TEXT}\n\u2014 PeterNeumann !!!!\n`), 'NOTE_MALFORMED');
    });
  });
});

describe('checkpoints', () => {
  const origin = 'rekor.example.internal';
  const root = new Uint8Array(32).fill(7);
  const body = formatCheckpointBody({ origin, size: 42, rootHash: root, extensions: [] });

  for (const type of ['ed25519', 'ec'] as const) {
    describe(`signed with ${type}`, () => {
      const { privateKey, publicKey } =
        type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const note = signNote(body, origin, privateKey);

      it('verifies and parses', () => {
        const cp = verifyCheckpointSignedByLogKey(note, origin, publicKey);
        expect(cp.size).toBe(42);
        expect(Buffer.from(cp.rootHash)).toEqual(Buffer.from(root));
      });

      it('fails for a wrong origin, a wrong key, a changed size or root', () => {
        expectCode(() => verifyCheckpointSignedByLogKey(note, 'other.origin', publicKey), 'NOTE_ORIGIN_MISMATCH');
        const other =
          type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
        expectCode(() => verifyCheckpointSignedByLogKey(note, origin, other.publicKey), 'NOTE_KEY_NOT_FOUND');
        expectCode(
          () => verifyCheckpointSignedByLogKey(note.replace('\n42\n', '\n43\n'), origin, publicKey),
          'NOTE_SIGNATURE_INVALID',
        );
        const rootB64 = Buffer.from(root).toString('base64');
        const badRoot = Buffer.from(root);
        badRoot[0] = 8;
        expectCode(
          () => verifyCheckpointSignedByLogKey(note.replace(rootB64, badRoot.toString('base64')), origin, publicKey),
          'NOTE_SIGNATURE_INVALID',
        );
      });

      it('fails when the origin in the text is changed but the signer name is kept', () => {
        expectCode(
          () => verifyCheckpointSignedByLogKey(note.replace(`${origin}\n42`, `x${origin}\n42`), origin, publicKey),
          'NOTE_ORIGIN_MISMATCH',
        );
      });
    });
  }

  it('rejects malformed bodies', () => {
    expectCode(() => parseCheckpointBody('o\n012\nAAAA\n'), 'NOTE_CHECKPOINT_MALFORMED');
    expectCode(() => parseCheckpointBody('o\n12\nAAAA\n'), 'NOTE_CHECKPOINT_MALFORMED');
    expectCode(() => parseCheckpointBody('o\n12\n'), 'NOTE_CHECKPOINT_MALFORMED');
  });
});

describe('when a signature is spelled in non-canonical base64', () => {
  it('the note is refused, though the signature bytes decode the same', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { formatCheckpointBody, signNote, verifyCheckpointSignedByLogKey } =
      await import('../../../src/tlog/note.js');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const note = signNote(
      formatCheckpointBody({ origin: 'o.example', size: 3, rootHash: new Uint8Array(32).fill(1), extensions: [] }),
      'o.example',
      privateKey,
    );
    expect(verifyCheckpointSignedByLogKey(note, 'o.example', publicKey).size).toBe(3);
    // 4-byte key hash + 64-byte signature = 68 bytes: the last base64 character before "=" carries
    // 2 unused bits. Setting them spells the same bytes differently.
    const m = /([A-Za-z0-9+/])=\n$/.exec(note)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const twin = alphabet[alphabet.indexOf(m[1]!) ^ 1]!;
    const other = note.slice(0, m.index) + twin + '=\n';
    expect(Buffer.from(other.trim().split(' ').pop()!, 'base64')).toEqual(
      Buffer.from(note.trim().split(' ').pop()!, 'base64'),
    );
    expect(() => verifyCheckpointSignedByLogKey(other, 'o.example', publicKey)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('not canonical base64') }),
    );
  });
});
