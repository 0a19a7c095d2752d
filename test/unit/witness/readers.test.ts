/**
 * Every reader of a log goes through `requireWitnesses` (readTilesHead, readApiV1Head, the monitor
 * aside): with a policy on the target, a checkpoint without its quorum is refused, naming the
 * missing witness and when this host last saw it cosign.
 */
import { describe, expect, it } from 'vitest';
import { requireWitnesses } from '../../../src/rekor/log-head.js';
import type { LogTarget } from '../../../src/rekor/target.js';
import { cosignNote } from '../../../src/witness/cosignature.js';
import { parseWitnessPolicy } from '../../../src/witness/policy.js';
import { expectCode } from '../../helpers/expect-code.js';
import { logNote, testWitness } from '../../helpers/witness-fixtures.js';

const A = testWitness('a.example');
const B = testWitness('b.example');
const { note } = logNote('log.example/r', 12);
const policy = parseWitnessPolicy(
  `witness wa ${A.vkey}\nwitness wb ${B.vkey}\ngroup both all wa wb\nquorum both\n`,
  'p',
);
const target = (extra: Partial<LogTarget> = {}): LogTarget => ({
  endpoint: { url: 'https://log.example', ca: '' },
  logKeyPem: '',
  origin: 'log.example/r',
  label: 'test',
  ...extra,
});

describe('the quorum on what a reader reads', () => {
  it('a target without a policy reads any checkpoint', () => {
    expect(() => requireWitnesses(target(), note, 'the checkpoint')).not.toThrow();
  });

  it('a checkpoint with the whole quorum passes', () => {
    const both = cosignNote(cosignNote(note, A.name, A.priv, 100), B.name, B.priv, 101);
    expect(() => requireWitnesses(target({ witnessPolicy: policy }), both, 'the checkpoint')).not.toThrow();
  });

  it('one missing is WITNESS_QUORUM_NOT_MET (exit 17), naming it and when it last cosigned', () => {
    const one = cosignNote(note, A.name, A.priv, 100);
    const e = expectCode(
      () =>
        requireWitnesses(
          target({ witnessPolicy: policy, witnessLastSeen: new Map([['wb', 1_800_000_000]]) }),
          one,
          'the checkpoint at /checkpoint',
        ),
      'WITNESS_QUORUM_NOT_MET',
    );
    expect(e.exitCode).toBe(17);
    expect(e.message).toContain('missing wb (last cosigned 2027-01-15T08:00:00.000Z)');
  });

  it('a cosignature by the right name with another key does not count', () => {
    const forged = cosignNote(note, B.name, A.priv, 100);
    expectCode(
      () => requireWitnesses(target({ witnessPolicy: policy }), cosignNote(forged, A.name, A.priv, 100), 'cp'),
      'WITNESS_QUORUM_NOT_MET',
    );
  });
});
