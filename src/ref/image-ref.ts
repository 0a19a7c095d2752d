/**
 * Image references: `[registry/]repository[:tag][@digest]`, normalised the way Docker does
 * (`nginx` → `docker.io/library/nginx:latest`), and mirrors that redirect pulls.
 */
import { AirgapError } from '../errors.js';
import { isDigest } from '../util/sha256.js';

export interface ImageRef {
  /** Registry host as written in the reference (docker.io for Docker Hub). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A repository path as a reference may name it (`sigstore/rekor-tiles`, `mirror/ghcr`). */
export function isRepositoryPath(s: string): boolean {
  return REPO_RE.test(s);
}

export function parseImageRef(input: string): ImageRef {
  let rest = input.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      throw new AirgapError('REF_INVALID', `image reference ${input}: digest ${digest} is not sha256:<64 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new AirgapError('REF_INVALID', `image reference ${input}: tag ${tag} is not valid`);
  }
  let registry = 'docker.io';
  const first = rest.split('/')[0]!;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(first.length + 1);
  }
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (!REPO_RE.test(rest))
    throw new AirgapError('REF_INVALID', `image reference ${input}: repository ${rest} is not valid`);
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Canonical text: `registry/repository[:tag][@digest]`. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host to talk to for a registry name (Docker Hub's API lives elsewhere). */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export type MirrorMap = ReadonlyMap<string, string>;

/** Parses `--mirror ghcr.io=127.0.0.1:5000` values (repeatable). */
export function parseMirrors(values: readonly string[]): MirrorMap {
  const map = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1)
      throw new AirgapError(
        'USAGE_BAD_MIRROR',
        `--mirror ${v}: expected UPSTREAM=MIRROR, e.g. ghcr.io=registry.internal:5000`,
      );
    map.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return map;
}

/**
 * Where `ref` is actually pulled from: its mirror when one is configured (a mirror may carry a path
 * prefix, `ghcr.io=mirror.internal:5000/ghcr`), else its own registry.
 */
export function resolveSource(ref: ImageRef, mirrors: MirrorMap): { host: string; repository: string } {
  const m = mirrors.get(ref.registry);
  if (!m) return { host: apiHost(ref.registry), repository: ref.repository };
  const slash = m.indexOf('/');
  if (slash < 0) return { host: m, repository: ref.repository };
  return { host: m.slice(0, slash), repository: `${m.slice(slash + 1).replace(/\/$/, '')}/${ref.repository}` };
}
