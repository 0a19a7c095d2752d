import { describe, expect, it } from 'vitest';
import { cosignNote } from '../../../src/witness/cosignature.js';
import { parseWitnessPolicy } from '../../../src/witness/policy.js';
import { evaluateQuorum, requireQuorum } from '../../../src/witness/quorum.js';
import { expectCode } from '../../helpers/expect-code.js';
import { logNote, testWitness, type TestWitness } from '../../helpers/witness-fixtures.js';

const [A, B, C] = [testWitness('a.example'), testWitness('b.example'), testWitness('c.example')] as [
  TestWitness,
  TestWitness,
  TestWitness,
];
const { note } = logNote('log.example/q', 30);
const cosign = (n: string, w: TestWitness, t: number) => cosignNote(n, w.name, w.priv, t);
const policy = (rules: string) =>
  parseWitnessPolicy(`witness a ${A.vkey}\nwitness b ${B.vkey}\nwitness c ${C.vkey}\n${rules}`, 'policy.txt');

describe('evaluateQuorum, 2 of 2', () => {
  const p = policy('group both all a b\nquorum both');
  it('0 cosignatures: not met, both missing', () => {
    expect(evaluateQuorum(note, p)).toEqual({
      satisfied: false,
      cosigned: [],
      missing: ['a', 'b'],
      rule: 'all of a, b',
    });
  });
  it('1 cosignature: not met, the other missing', () => {
    const v = evaluateQuorum(cosign(note, A, 100), p);
    expect(v).toMatchObject({ satisfied: false, cosigned: [{ name: 'a', timestamp: 100 }], missing: ['b'] });
  });
  it('2 cosignatures: met, named by the policy names', () => {
    const v = evaluateQuorum(cosign(cosign(note, A, 100), B, 101), p);
    expect(v).toMatchObject({ satisfied: true, missing: [] });
    expect(v.cosigned).toEqual([
      { name: 'a', timestamp: 100 },
      { name: 'b', timestamp: 101 },
    ]);
  });
  it('a witness outside the quorum does not count', () => {
    const v = evaluateQuorum(cosign(cosign(note, A, 1), C, 2), p);
    expect(v.satisfied).toBe(false);
    expect(v.cosigned.map((c) => c.name)).toEqual(['a']);
  });
});

describe('evaluateQuorum, other rules', () => {
  it('any of 2: one is enough', () => {
    const p = policy('group g any a b\nquorum g');
    expect(evaluateQuorum(cosign(note, B, 5), p)).toMatchObject({
      satisfied: true,
      missing: ['a'],
      rule: 'any of a, b',
    });
    expect(evaluateQuorum(note, p).satisfied).toBe(false);
  });
  it('K of 3', () => {
    const p = policy('group g 2 a b c\nquorum g');
    expect(evaluateQuorum(cosign(note, C, 5), p).satisfied).toBe(false);
    expect(evaluateQuorum(cosign(cosign(note, C, 5), A, 6), p)).toMatchObject({
      satisfied: true,
      rule: '2 of a, b, c',
    });
  });
  it('nested groups: each group counts as one member', () => {
    const p = policy('group ab any a b\ngroup top all ab c\nquorum top');
    expect(evaluateQuorum(cosign(cosign(note, A, 1), B, 2), p).satisfied).toBe(false);
    expect(evaluateQuorum(cosign(cosign(note, B, 1), C, 2), p)).toMatchObject({
      satisfied: true,
      rule: 'all of ab (any of a, b), c',
    });
  });
  it('quorum none: met with no cosignatures', () => {
    expect(evaluateQuorum(note, policy('quorum none'))).toEqual({
      satisfied: true,
      cosigned: [],
      missing: [],
      rule: 'none',
    });
  });
  it('a quorum of a single witness', () => {
    const p = policy('quorum b');
    expect(evaluateQuorum(note, p)).toMatchObject({ satisfied: false, missing: ['b'], rule: '1 of b' });
    expect(evaluateQuorum(cosign(note, B, 9), p).satisfied).toBe(true);
  });
  it('a cosignature by a key under another witness name is not that witness', () => {
    const p = policy('quorum a');
    expect(evaluateQuorum(cosignNote(note, 'a.example', B.priv, 1), p).satisfied).toBe(false);
  });
});

describe('requireQuorum', () => {
  const p = policy('group both all a b\nquorum both');
  it('returns the verdict when met', () => {
    expect(requireQuorum(cosign(cosign(note, A, 1), B, 2), p, { what: 'the checkpoint' }).satisfied).toBe(true);
  });
  it('WITNESS_QUORUM_NOT_MET names the rule, each missing witness and when it last cosigned', () => {
    const e = expectCode(
      () =>
        requireQuorum(cosign(note, A, 1), p, {
          what: 'the checkpoint of log.example/q at size 30',
          lastSeen: new Map([['b', 1_800_000_000]]),
        }),
      'WITNESS_QUORUM_NOT_MET',
    );
    expect(e.exitCode).toBe(17);
    expect(e.message).toContain('the checkpoint of log.example/q at size 30');
    expect(e.message).toContain('"both"');
    expect(e.message).toContain('all of a, b');
    expect(e.message).toContain(`b (last cosigned ${new Date(1_800_000_000_000).toISOString()})`);
    expect(e.details).toMatchObject({
      missing: ['b'],
      cosigned: [{ name: 'a', timestamp: 1 }],
      lastCosigned: { b: 1_800_000_000 },
    });
  });
  it('without lastSeen, names the missing witnesses only', () => {
    const e = expectCode(() => requireQuorum(note, p, { what: 'it' }), 'WITNESS_QUORUM_NOT_MET');
    expect(e.message).toMatch(/missing a, b$/);
    expect(e.message).not.toContain('last cosigned');
  });
});
