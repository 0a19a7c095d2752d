/**
 * Whether a checkpoint note carries enough witness cosignatures for a policy's quorum. The log's
 * own signature is the caller's to check first; this reads only the cosignatures.
 */
import { AirgapError } from '../errors.js';
import { printable } from '../util/untrusted-text.js';
import { verifyCosignature, type Cosignature } from './cosignature.js';
import type { PolicyGroup, WitnessPolicy } from './policy.js';

export interface QuorumVerdict {
  satisfied: boolean;
  /** Valid cosignatures, named by the policy's witness names. */
  cosigned: Cosignature[];
  /** Witnesses of the quorum without a valid cosignature (policy names). */
  missing: string[];
  /** The quorum rule in words: "2 of a, b", "any of eu (all of a, b), c", "none". */
  rule: string;
}

interface Resolver {
  groups: Map<string, PolicyGroup>;
  cosigned: Set<string>;
}

/** The witness names a component reaches, in policy order, each once. */
function witnessesOf(r: Resolver, name: string, out: Set<string>): Set<string> {
  const g = r.groups.get(name);
  if (g === undefined) out.add(name);
  else for (const m of g.members) witnessesOf(r, m, out);
  return out;
}

function satisfied(r: Resolver, name: string): boolean {
  const g = r.groups.get(name);
  if (g === undefined) return r.cosigned.has(name);
  return g.members.filter((m) => satisfied(r, m)).length >= g.threshold;
}

function thresholdWords(g: PolicyGroup): string {
  if (g.threshold === g.members.length && g.members.length > 1) return 'all';
  if (g.threshold === 1 && g.members.length > 1) return 'any';
  return String(g.threshold);
}

function describe(r: Resolver, name: string): string {
  const g = r.groups.get(name);
  if (g === undefined) return printable(name, { max: 80 });
  const members = g.members.map((m) =>
    r.groups.has(m) ? `${printable(m, { max: 80 })} (${describe(r, m)})` : describe(r, m),
  );
  return `${thresholdWords(g)} of ${members.join(', ')}`;
}

/** The cosignatures on `note` by the policy's witnesses, and whether they meet its quorum. */
export function evaluateQuorum(note: string, p: WitnessPolicy): QuorumVerdict {
  if (p.quorum === 'none') return { satisfied: true, cosigned: [], missing: [], rule: 'none' };
  const r: Resolver = { groups: new Map(p.groups.map((g) => [g.name, g])), cosigned: new Set() };
  const relevant = witnessesOf(r, p.quorum, new Set());
  const cosigned: Cosignature[] = [];
  for (const w of p.witnesses) {
    if (!relevant.has(w.name)) continue;
    const c = verifyCosignature(note, w.key);
    if (c === undefined) continue;
    cosigned.push({ name: w.name, timestamp: c.timestamp });
    r.cosigned.add(w.name);
  }
  const rule = r.groups.has(p.quorum) ? describe(r, p.quorum) : `1 of ${describe(r, p.quorum)}`;
  return {
    satisfied: satisfied(r, p.quorum),
    cosigned,
    missing: [...relevant].filter((n) => !r.cosigned.has(n)),
    rule,
  };
}

function missingWords(name: string, lastSeen: ReadonlyMap<string, number> | undefined): string {
  const t = lastSeen?.get(name);
  const shown = printable(name, { max: 80 });
  if (t === undefined || !Number.isFinite(t)) return shown;
  const d = new Date(t * 1000);
  return Number.isNaN(d.getTime()) ? shown : `${shown} (last cosigned ${d.toISOString()})`;
}

/**
 * The verdict when the quorum is met; otherwise WITNESS_QUORUM_NOT_MET naming the rule and each
 * missing witness, with when it last cosigned where `lastSeen` (witness name -> POSIX seconds)
 * knows. `what` names the checkpoint ("the checkpoint of rekor.example at size 12").
 */
export function requireQuorum(
  note: string,
  p: WitnessPolicy,
  ctx: { what: string; lastSeen?: ReadonlyMap<string, number> },
): QuorumVerdict {
  const v = evaluateQuorum(note, p);
  if (v.satisfied) return v;
  const got = v.cosigned.length === 0 ? 'none' : v.cosigned.map((c) => printable(c.name, { max: 80 })).join(', ');
  throw new AirgapError(
    'WITNESS_QUORUM_NOT_MET',
    `${ctx.what} is not cosigned by the witness quorum: policy quorum ${JSON.stringify(printable(p.quorum, { max: 80 }))} ` +
      `needs ${v.rule}; cosigned by ${got}; missing ${v.missing.map((m) => missingWords(m, ctx.lastSeen)).join(', ')}`,
    {
      details: {
        quorum: p.quorum,
        rule: v.rule,
        missing: v.missing,
        cosigned: v.cosigned,
        lastCosigned: Object.fromEntries(
          v.missing.flatMap((n) => {
            const t = ctx.lastSeen?.get(n);
            return t === undefined ? [] : [[n, t]];
          }),
        ),
      },
    },
  );
}
