import { describe, expect, it } from 'vitest';
import { formatWitnessPolicy, parseWitnessPolicy, SIMPLE_GROUP, simplePolicy } from '../../../src/witness/policy.js';
import { expectCode } from '../../helpers/expect-code.js';
import { testWitness } from '../../helpers/witness-fixtures.js';

const [A, B, C] = [testWitness('a.example'), testWitness('b.example'), testWitness('c.example')];

describe('witness policy text', () => {
  it('reads logs, witnesses (URL optional), groups all/any/K, nested groups and comments', () => {
    const p = parseWitnessPolicy(
      [
        '# the site policy',
        'log log.example+01234567+AAAA https://log.example',
        `witness a ${A.vkey} https://a.example:8443   # first`,
        `  witness\tb ${B.vkey}`,
        `witness c ${C.vkey} https://c.example`,
        'group ab any a b',
        'group all-three all a b c',
        'group two 2 ab c',
        '',
        'quorum two',
      ].join('\n'),
      'policy.txt',
    );
    expect(p.logs).toEqual(['log.example+01234567+AAAA https://log.example']);
    expect(p.witnesses.map((w) => [w.name, w.key.name, w.url])).toEqual([
      ['a', 'a.example', 'https://a.example:8443'],
      ['b', 'b.example', undefined],
      ['c', 'c.example', 'https://c.example'],
    ]);
    expect(p.groups).toEqual([
      { name: 'ab', threshold: 1, members: ['a', 'b'] },
      { name: 'all-three', threshold: 3, members: ['a', 'b', 'c'] },
      { name: 'two', threshold: 2, members: ['ab', 'c'] },
    ]);
    expect(p.quorum).toBe('two');
    expect(parseWitnessPolicy(formatWitnessPolicy(p), 'again')).toEqual(p);
  });

  it('quorum none, and a quorum of a single witness', () => {
    expect(parseWitnessPolicy('quorum none\n', 'p').quorum).toBe('none');
    const p = parseWitnessPolicy(`witness a ${A.vkey}\nquorum a\n`, 'p');
    expect(p.quorum).toBe('a');
    expect(p.groups).toEqual([]);
  });

  it('the quorum may be named before it is defined (read at the end, as Tessera does)', () => {
    expect(parseWitnessPolicy(`quorum a\nwitness a ${A.vkey}\n`, 'p').quorum).toBe('a');
  });

  it('\\r\\n line ends are read', () => {
    expect(parseWitnessPolicy(`witness a ${A.vkey}\r\nquorum a\r\n`, 'p').witnesses).toHaveLength(1);
  });
});

describe('when a policy is refused, the error names source:line', () => {
  const wa = `witness a ${A.vkey}`;
  const wb = `witness b ${B.vkey}`;
  it.each([
    ['an unknown keyword', `${wa}\nwitnes b ${B.vkey}\nquorum a`, 2],
    ['a witness without a key', 'witness a\nquorum none', 1],
    ['a witness with extra fields', `witness a ${A.vkey} https://a.example extra\nquorum none`, 1],
    ['a witness key that is not a cosignature vkey', 'witness a a.example+00000000+AAAA\nquorum none', 1],
    ['a witness URL that is not an absolute URL', `witness a ${A.vkey} a.example\nquorum none`, 1],
    ['a witness URL that is not http(s)', `witness a ${A.vkey} ftp://a.example\nquorum none`, 1],
    ['a witness named by a keyword', `witness group ${A.vkey}\nquorum none`, 1],
    ['a duplicate witness name', `${wa}\nwitness a ${B.vkey}\nquorum a`, 2],
    ['one key under two names', `${wa}\nwitness a2 ${A.vkey}\nquorum a`, 2],
    ['a group without a threshold', `${wa}\ngroup g\nquorum g`, 2],
    ['a group without members', `${wa}\ngroup g all\nquorum g`, 2],
    ['a group named by a keyword', `${wa}\ngroup any any a\nquorum a`, 2],
    ['a group name already used', `${wa}\ngroup a any a\nquorum a`, 2],
    ['a group member that is a keyword', `${wa}\ngroup g any a none\nquorum g`, 2],
    ['a group member not defined before', `${wa}\ngroup g any a b\n${wb}\nquorum g`, 2],
    ['a group member named twice', `${wa}\n${wb}\ngroup g 2 a a\nquorum g`, 3],
    ['a threshold above the members', `${wa}\n${wb}\ngroup g 3 a b\nquorum g`, 3],
    ['a threshold of 0', `${wa}\ngroup g 0 a\nquorum g`, 2],
    ['a threshold that is not a number', `${wa}\ngroup g some a\nquorum g`, 2],
    ['a threshold past 8 bits', `${wa}\ngroup g 256 a\nquorum g`, 2],
    ['a quorum without a name', `${wa}\nquorum`, 2],
    ['a quorum with two names', `${wa}\n${wb}\nquorum a b`, 3],
    ['a second quorum line', `${wa}\nquorum a\nquorum none`, 3],
    ['a quorum named by a keyword', `${wa}\nquorum all`, 2],
    ['a quorum naming nothing defined', `${wa}\nquorum b`, 2],
    ['a log line without a key', `log\nquorum none`, 1],
  ])('%s', (_what, text, line) => {
    const e = expectCode(() => parseWitnessPolicy(text, 'site/policy.txt'), 'WITNESS_POLICY_INVALID');
    expect(e.message).toContain(`site/policy.txt:${line}:`);
    expect(e.details).toMatchObject({ source: 'site/policy.txt', line });
  });

  it('no quorum line at all', () => {
    const e = expectCode(() => parseWitnessPolicy(`witness a ${A.vkey}\n`, 'p.txt'), 'WITNESS_POLICY_INVALID');
    expect(e.message).toContain('p.txt');
  });

  it('shows no control characters from the file', () => {
    const e = expectCode(() => parseWitnessPolicy('\x1b[2Jwipe x\nquorum none', 'p'), 'WITNESS_POLICY_INVALID');
    expect(e.message).not.toContain('\x1b');
  });
});

describe('simplePolicy', () => {
  const ws = [A, B, C].map((w) => parseWitnessPolicy(`witness ${w.name} ${w.vkey}\nquorum none`, 'p').witnesses[0]!);
  it('is K of all the witnesses, in a group that is not a keyword', () => {
    const p = simplePolicy(ws, 2);
    expect(p.groups).toEqual([{ name: SIMPLE_GROUP, threshold: 2, members: ['a.example', 'b.example', 'c.example'] }]);
    expect(p.quorum).toBe(SIMPLE_GROUP);
    expect(formatWitnessPolicy(p)).not.toMatch(/^group quorum /m);
  });

  it('K outside 1..n, or one key twice, is refused', () => {
    expectCode(() => simplePolicy(ws, 0), 'WITNESS_POLICY_INVALID');
    expectCode(() => simplePolicy(ws, 4), 'WITNESS_POLICY_INVALID');
    expectCode(() => simplePolicy([ws[0]!, { ...ws[0]!, name: 'again' }], 1), 'WITNESS_POLICY_INVALID');
  });
});
