/**
 * The in-toto statement inside a verified DSSE envelope: which artifact it is about and what it
 * says. Sigstore's verifier checks the signature and the signer, not the statement: that the
 * subject is the image's digest and the predicate the one expected are checked here. Pure.
 */
import { AirgapError } from '../errors.js';
import { printable } from '../util/untrusted-text.js';
import { readUntrustedJson, type JsonValue } from '../util/untrusted-json.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];

/** Where an image was built from, as its SLSA provenance tells it (when it is one). */
export interface BuiltFrom {
  /** The source repository (git URI without the ref). */
  repository?: string;
  /** The source revision (ref) the build ran on. */
  ref?: string;
  /** The source commit. */
  commit?: string;
  /** The builder (a workflow run, a build service). */
  builder?: string;
}

export interface Statement {
  predicateType: string;
  subjectDigests: string[];
  builtFrom: BuiltFrom;
}

/** Reads the statement of a DSSE payload; `what` names the attestation in messages. */
export function readStatement(payloadType: string, payload: Uint8Array, what: string): Statement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new AirgapError(
      'PROVENANCE_SIGNATURE_INVALID',
      `${what}: payload type ${printable(payloadType, { max: 80 })} is not an in-toto statement`,
    );
  const s = readUntrustedJson(payload, { what: `${what} (in-toto statement)`, code: 'PROVENANCE_SIGNATURE_INVALID' });
  const type = s.at('_type').string();
  if (!STATEMENT_TYPES.includes(type)) s.at('_type').fail('is not an in-toto statement type');
  const subjectDigests = s
    .at('subject')
    .list()
    .map((x) =>
      x
        .at('digest')
        .at('sha256')
        .optString(/^[0-9a-f]{64}$/),
    )
    .filter((d): d is string => d !== undefined)
    .map((hex) => `sha256:${hex}`);
  return { predicateType: s.at('predicateType').string(), subjectDigests, builtFrom: slsaBuiltFrom(s.at('predicate')) };
}

/** Fails unless the statement is about `digest`. */
export function requireSubject(st: Statement, digest: string, what: string): void {
  if (!st.subjectDigests.includes(digest))
    throw new AirgapError(
      'PROVENANCE_SUBJECT_MISMATCH',
      `${what} is about ${st.subjectDigests.join(', ') || 'no sha256 digest'}, not the image ${digest}`,
    );
}

/** SLSA v1 (GitHub's build provenance) and v0.2: the source and the builder, where present. */
function slsaBuiltFrom(p: JsonValue): BuiltFrom {
  if (!p.isObject) return {};
  const out: BuiltFrom = {};
  const dep = p.at('buildDefinition').isObject ? p.at('buildDefinition').at('resolvedDependencies') : undefined;
  const first = dep && Array.isArray(dep.raw) ? dep.list()[0] : undefined;
  const uri = first?.isObject ? first.at('uri').optString() : undefined;
  if (uri) {
    const m = /^(?:git\+)?(.*?)(?:@(.+))?$/.exec(uri)!;
    out.repository = printable(m[1]!, { max: 200 });
    if (m[2]) out.ref = printable(m[2], { max: 200 });
  }
  const commit =
    first?.isObject && first.at('digest').isObject ? first.at('digest').at('gitCommit').optString() : undefined;
  if (commit && /^[0-9a-f]{40,64}$/.test(commit)) out.commit = commit;
  const run = p.at('runDetails');
  const builder = run.isObject && run.at('builder').isObject ? run.at('builder').at('id').optString() : undefined;
  if (builder) out.builder = printable(builder, { max: 300 });
  return out;
}
