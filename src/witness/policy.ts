/**
 * Witness policy text (Sigsum policy format, as Tessera v1.0.4's NewWitnessGroupFromPolicy reads
 * it, with cosignature/v1 witness keys):
 *
 *   log VKEY [URL]                    kept; not part of the quorum
 *   witness NAME VKEY [URL]           a witness (URL optional: clients need only the key)
 *   group NAME all|any|K MEMBER...    K of the members (witnesses or groups defined above)
 *   quorum NAME|none                  the group or witness that must be satisfied
 *
 * `#` starts a comment. Keywords are not names; names are unique; members are defined before
 * the group that names them; K is at most the number of members. Beyond Tessera, refused as
 * ways for one signature to count twice or for a rule to say nothing: a member named twice in a
 * group, one key under two witness names, a group of no members or K = 0, a second quorum line.
 */
import { AirgapError } from '../errors.js';
import { printable } from '../util/untrusted-text.js';
import { parseCosignatureVkey, type WitnessKey } from './cosignature.js';

export interface PolicyWitness {
  name: string;
  key: WitnessKey;
  url?: string;
}

export interface PolicyGroup {
  name: string;
  threshold: number;
  members: string[];
}

export interface WitnessPolicy {
  witnesses: PolicyWitness[];
  groups: PolicyGroup[];
  /** A witness or group name, or 'none'. */
  quorum: string;
  /** The `log` lines' arguments (`VKEY [URL]`), kept for the policy's readers. */
  logs: string[];
}

const KEYWORDS = new Set(['witness', 'group', 'any', 'all', 'none', 'quorum', 'log']);
/** Tessera reads K as an 8-bit number. */
const MAX_THRESHOLD = 255;

interface Parsing {
  policy: WitnessPolicy;
  names: Set<string>;
  keys: Map<string, string>;
  quorumLine?: number;
}

class LineError extends Error {}

function q(s: string): string {
  return JSON.stringify(printable(s, { max: 120 }));
}

function checkName(st: Parsing, name: string, what: string): void {
  if (KEYWORDS.has(name)) throw new LineError(`${what} name ${q(name)} is a keyword`);
  if (st.names.has(name)) throw new LineError(`duplicate name ${q(name)}`);
}

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LineError(`URL ${q(url)} is not an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new LineError(`URL ${q(url)} is not http(s)`);
  return url;
}

function parseWitness(st: Parsing, args: string[]): void {
  if (args.length < 2 || args.length > 3) throw new LineError('expected: witness NAME VKEY [URL]');
  const [name = '', vkey = '', url] = args;
  checkName(st, name, 'witness');
  let key: WitnessKey;
  try {
    key = parseCosignatureVkey(vkey);
  } catch (e) {
    throw new LineError(`witness ${q(name)}: ${(e as Error).message}`);
  }
  const raw = key.vkey.slice(key.vkey.lastIndexOf('+') + 1);
  const other = st.keys.get(raw);
  if (other !== undefined) throw new LineError(`witness ${q(name)} has the same key as witness ${q(other)}`);
  st.keys.set(raw, name);
  st.names.add(name);
  st.policy.witnesses.push(url === undefined ? { name, key } : { name, key, url: checkUrl(url) });
}

function thresholdOf(spelled: string, members: number): number {
  if (spelled === 'all') return members;
  if (spelled === 'any') return 1;
  if (!/^[0-9]+$/.test(spelled) || Number(spelled) > MAX_THRESHOLD)
    throw new LineError(`threshold ${q(spelled)} is not all, any or a number up to ${MAX_THRESHOLD}`);
  const k = Number(spelled);
  if (k === 0) throw new LineError('threshold 0 is satisfied by nothing at all; write "quorum none" instead');
  if (k > members) throw new LineError(`group of ${members} members cannot have threshold ${k}`);
  return k;
}

function parseGroup(st: Parsing, args: string[]): void {
  if (args.length < 3) throw new LineError('expected: group NAME all|any|K MEMBER...');
  const [name = '', spelled = '', ...members] = args;
  checkName(st, name, 'group');
  const seen = new Set<string>();
  for (const m of members) {
    if (KEYWORDS.has(m)) throw new LineError(`member name ${q(m)} is a keyword`);
    if (!st.names.has(m)) throw new LineError(`unknown member ${q(m)} (define it on an earlier line)`);
    if (seen.has(m)) throw new LineError(`member ${q(m)} is named twice in group ${q(name)}`);
    seen.add(m);
  }
  st.names.add(name);
  st.policy.groups.push({ name, threshold: thresholdOf(spelled, members.length), members });
}

function parseQuorum(st: Parsing, args: string[], line: number): void {
  if (args.length !== 1) throw new LineError('expected: quorum NAME|none');
  if (st.quorumLine !== undefined) throw new LineError(`a second quorum line (the first is line ${st.quorumLine})`);
  const [name = ''] = args;
  if (name !== 'none' && KEYWORDS.has(name)) throw new LineError(`quorum name ${q(name)} is a keyword`);
  st.policy.quorum = name;
  st.quorumLine = line;
}

function parseLine(st: Parsing, fields: string[], line: number): void {
  const [keyword = '', ...args] = fields;
  if (keyword === 'log') {
    if (args.length < 1 || args.length > 2) throw new LineError('expected: log VKEY [URL]');
    st.policy.logs.push(args.join(' '));
  } else if (keyword === 'witness') parseWitness(st, args);
  else if (keyword === 'group') parseGroup(st, args);
  else if (keyword === 'quorum') parseQuorum(st, args, line);
  else throw new LineError(`unknown keyword ${q(keyword)}`);
}

function policyInvalid(source: string, line: number | undefined, message: string, cause?: unknown): AirgapError {
  const where = line === undefined ? printable(source) : `${printable(source)}:${line}`;
  return new AirgapError('WITNESS_POLICY_INVALID', `witness policy ${where}: ${message}`, {
    cause,
    details: { source, ...(line === undefined ? {} : { line }) },
  });
}

/** Parses policy text; `source` (a file name) and the line number are in every error. */
export function parseWitnessPolicy(text: string, source: string): WitnessPolicy {
  const st: Parsing = {
    policy: { witnesses: [], groups: [], quorum: '', logs: [] },
    names: new Set(),
    keys: new Map(),
  };
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) continue;
    try {
      parseLine(st, fields, i + 1);
    } catch (e) {
      if (e instanceof LineError) throw policyInvalid(source, i + 1, e.message);
      throw e;
    }
  }
  const { quorum } = st.policy;
  if (quorum === '') throw policyInvalid(source, undefined, 'no quorum line (write "quorum none" for no witnesses)');
  if (quorum !== 'none' && !st.names.has(quorum))
    throw policyInvalid(source, st.quorumLine, `quorum ${q(quorum)} names no witness or group`);
  return st.policy;
}

function spelledThreshold(g: PolicyGroup): string {
  if (g.threshold === g.members.length) return 'all';
  return g.threshold === 1 ? 'any' : String(g.threshold);
}

/** Policy text that parses back to `p` (witnesses, then groups, in order; then the quorum). */
export function formatWitnessPolicy(p: WitnessPolicy): string {
  return [
    ...p.logs.map((l) => `log ${l}`),
    ...p.witnesses.map((w) => ['witness', w.name, w.key.vkey, ...(w.url === undefined ? [] : [w.url])].join(' ')),
    ...p.groups.map((g) => ['group', g.name, spelledThreshold(g), ...g.members].join(' ')),
    `quorum ${p.quorum}`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * The group simplePolicy makes. Not "quorum": that is a keyword, which Tessera (and so the log)
 * refuses as a name.
 */
export const SIMPLE_GROUP = 'witness-quorum';

/** K of the given witnesses, as one group (SIMPLE_GROUP, or with a suffix if a witness has that name). */
export function simplePolicy(witnesses: PolicyWitness[], k: number): WitnessPolicy {
  if (!Number.isInteger(k) || k < 1 || k > witnesses.length)
    throw new AirgapError(
      'WITNESS_POLICY_INVALID',
      `a quorum of ${k} of ${witnesses.length} witnesses is not possible (1 to ${witnesses.length})`,
    );
  const members = witnesses.map((w) => w.name);
  let name = SIMPLE_GROUP;
  for (let i = 2; members.includes(name); i++) name = `${SIMPLE_GROUP}-${i}`;
  const p: WitnessPolicy = {
    witnesses,
    groups: [{ name, threshold: k, members }],
    quorum: name,
    logs: [],
  };
  // The same checks as a policy file: names, duplicate keys.
  return parseWitnessPolicy(formatWitnessPolicy(p), 'the witnesses given');
}
