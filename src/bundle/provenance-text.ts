/** How an image's upstream provenance reads in a command's output. */
import type { ImageProvenance } from './manifest.js';

export function provenanceText(p: ImageProvenance | { status: 'not recorded' } | undefined): string {
  if (!p || p.status === 'not recorded') return 'provenance not recorded (bundle made before it was): digest pinned';
  if (p.status === 'unsigned') return `unsigned upstream: digest pinned (${p.reason})`;
  if (p.status !== 'verified') return `not verified: digest pinned (${p.reason})`;
  const b = p.builtFrom;
  const from = b.repository
    ? `, built from ${b.repository}${b.ref ? `@${b.ref}` : ''}${b.commit ? ` (commit ${b.commit})` : ''}`
    : '';
  return `verified: ${p.predicateTypes.join(', ')} signed by ${p.identity} (issuer ${p.issuer})${from}`;
}
