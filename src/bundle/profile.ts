/**
 * Stack profiles (`bundles/<name>.yaml`): which images a stack needs (by upstream reference), which
 * templates the installer renders, default ports, file artifacts, and the stack module (`kind`) that
 * installs, proves, backs up and restores it.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { AirgapError } from '../errors.js';
import { formatImageRef, parseImageRef } from '../ref/image-ref.js';
import { packageRoot } from '../util/package-root.js';
import { STACK_KINDS } from './stack-kinds.js';
import { isSha256Hex } from '../util/sha256.js';
import { parseProvenancePolicy, type ProvenancePolicy } from '../provenance/policy.js';

export interface ProfileImage {
  /** Key the templates use: `{{ images.<name> }}`. */
  name: string;
  /** Upstream reference, normalised (registry/repository:tag). */
  ref: string;
  /** Who upstream signs it as, and what it attests (or why it is unsigned). */
  provenance: ProvenancePolicy;
}

/** A Helm chart for Kubernetes sites (an OCI artifact), carried only with `bundle create --with-charts`. */
export interface ProfileChart {
  name: string;
  /** registry/repository:version (optionally @sha256:… to pin it). */
  ref: string;
}

export interface ProfileArtifact {
  name: string;
  url: string;
  sha256: string;
  /** Path of the wanted file inside a zip, when the URL is an archive. */
  extract?: string;
}

export interface Profile {
  name: string;
  description: string;
  /** The stack module (src/stacks/) that runs this profile. */
  kind: string;
  /** Release number: raised with every change of pins; installs never go down (see README). */
  release: number;
  images: ProfileImage[];
  templates: string[];
  ports: { https: number };
  artifacts: ProfileArtifact[];
  charts: ProfileChart[];
  /**
   * Profiles a bundle of this one also carries (by name, looked up beside it): e.g. rekor-v2 carries
   * the witness, so one bundle installs a log and its witnesses.
   */
  companions: string[];
  /** Set when the profile was loaded as a companion: the name of the profile that carries it. */
  companionOf?: string;
  /** Where it was read from. */
  file: string;
}

export function builtinProfilesDir(): string {
  const root = packageRoot();
  if (!root)
    throw new AirgapError(
      'PROFILE_DIR_MISSING',
      'cannot find the bundles/ directory of rekor-airgap; pass --profile PATH.yaml',
    );
  return path.join(root, 'bundles');
}

export async function listBuiltinProfiles(): Promise<string[]> {
  const files = await fsp.readdir(builtinProfilesDir());
  return files
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A profile name (`rekor-v2`) is looked up in bundles/; anything with a slash or .yaml is a path. */
export function profilePath(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml'))
    return path.resolve(nameOrPath);
  return path.join(builtinProfilesDir(), `${nameOrPath}.yaml`);
}

function need(cond: unknown, file: string, key: string, what: string): asserts cond {
  if (!cond) throw new AirgapError('PROFILE_INVALID', `${file}: ${key} ${what}`);
}

/** A profile document, as YAML gives it: nothing in it checked yet. */
type ProfileDoc = Record<string, unknown>;

export function parseProfile(text: string, file: string): Profile {
  const d = loadMapping(text, file);
  checkIdentity(d, file);
  const images = parseImages(d, file);
  checkTemplates(d, file);
  const ports = parsePorts(d, file);
  const artifacts = parseArtifacts(d, file);
  const charts = parseCharts(d, file);
  const companions = parseCompanions(d, file);
  return {
    name: d.name as string,
    description: typeof d.description === 'string' ? d.description : '',
    kind: d.kind as string,
    release: (d.release ?? 0) as number,
    images,
    templates: (d.templates as unknown[]).map(String),
    ports,
    artifacts,
    charts,
    companions,
    file,
  };
}

/** companions: profile names (not paths), none the profile itself. */
function parseCompanions(d: ProfileDoc, file: string): string[] {
  const list = d.companions ?? [];
  need(Array.isArray(list), file, 'companions', 'must be a list of profile names');
  return (list as unknown[]).map((c, i) => {
    need(
      typeof c === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(c) && c !== d.name,
      file,
      `companions[${i}]`,
      'must name another profile (lowercase letters, digits and dashes)',
    );
    return c;
  });
}

/** The YAML document, which must be a mapping. */
function loadMapping(text: string, file: string): ProfileDoc {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new AirgapError('PROFILE_INVALID', `${file}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  const d = doc as ProfileDoc;
  need(d && typeof d === 'object', file, 'the document', 'must be a mapping');
  return d;
}

/** name, kind (the stack module) and release. */
function checkIdentity(d: ProfileDoc, file: string): void {
  need(
    typeof d.name === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(d.name),
    file,
    'name',
    'must be lowercase letters, digits and dashes',
  );
  need(
    typeof d.kind === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(d.kind),
    file,
    'kind',
    'must name a stack module (e.g. rekor-v2, rekor-v1)',
  );
  need(
    d.release === undefined || (Number.isSafeInteger(d.release) && (d.release as number) >= 0),
    file,
    'release',
    'must be a whole number',
  );
}

/** images: at least one, each by tag (digests are pinned by the lock, not the profile). */
function parseImages(d: ProfileDoc, file: string): ProfileImage[] {
  need(Array.isArray(d.images) && d.images.length > 0, file, 'images', 'must be a non-empty list');
  return (d.images as Array<Record<string, unknown>>).map((img, i) => {
    need(typeof img?.name === 'string' && typeof img?.ref === 'string', file, `images[${i}]`, 'needs name and ref');
    const ref = parseImageRef(img.ref as string);
    need(
      !ref.digest,
      file,
      `images[${i}].ref`,
      'must be a tag; digests are resolved and recorded at create time (use bundle lock to pin them)',
    );
    const provenance = parseProvenancePolicy(img.provenance, ref.tag, (key, what) => {
      throw new AirgapError('PROFILE_INVALID', `${file}: images[${i}].${key} ${what}`);
    });
    return { name: img.name as string, ref: formatImageRef(ref), provenance };
  });
}

/** templates: plain file names. */
function checkTemplates(d: ProfileDoc, file: string): void {
  need(Array.isArray(d.templates), file, 'templates', 'must be a list of file names');
  for (const [i, t] of (d.templates as unknown[]).entries()) {
    need(
      typeof t === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(t) && !t.includes('..'),
      file,
      `templates[${i}]`,
      'must be a plain file name (no "/", no "..")',
    );
  }
}

function parsePorts(d: ProfileDoc, file: string): Profile['ports'] {
  const ports = (d.ports ?? {}) as Record<string, unknown>;
  need(
    Number.isInteger(ports.https) && (ports.https as number) > 0 && (ports.https as number) < 65536,
    file,
    'ports.https',
    'must be a port number',
  );
  return { https: ports.https as number };
}

/** artifacts: files downloaded by URL and checked by SHA-256. */
function parseArtifacts(d: ProfileDoc, file: string): ProfileArtifact[] {
  return ((d.artifacts ?? []) as Array<Record<string, unknown>>).map((a, i) => {
    need(typeof a?.name === 'string' && /^[\w.-]+$/.test(a.name), file, `artifacts[${i}].name`, 'must be a file name');
    need(typeof a.url === 'string', file, `artifacts[${i}].url`, 'is required');
    need(isSha256Hex(a.sha256), file, `artifacts[${i}].sha256`, 'must be 64 lowercase hex digits');
    return {
      name: a.name as string,
      url: a.url as string,
      sha256: a.sha256 as string,
      ...(typeof a.extract === 'string' ? { extract: a.extract } : {}),
    };
  });
}

/** charts: each with its version as the tag. */
function parseCharts(d: ProfileDoc, file: string): ProfileChart[] {
  return ((d.charts ?? []) as Array<Record<string, unknown>>).map((c, i) => {
    need(
      typeof c?.name === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(c.name),
      file,
      `charts[${i}].name`,
      'must be a chart name',
    );
    need(typeof c.ref === 'string', file, `charts[${i}].ref`, 'is required');
    const ref = parseImageRef(c.ref as string);
    need(
      ref.tag && ref.tag !== 'latest',
      file,
      `charts[${i}].ref`,
      'must name the chart version as its tag (registry/repository:1.2.3)',
    );
    return { name: c.name as string, ref: formatImageRef(ref) };
  });
}

/**
 * Fails unless the profile's kind names a stack this tool installs (USAGE_UNKNOWN_STACK): a bundle
 * is never made, and signed, for a stack nothing can install. Reading a profile does not check it
 * (`bundle lock` pins any profile's images; the installer names the stack itself).
 */
export function verifyStackKind(profile: Profile): void {
  if (!(STACK_KINDS as readonly string[]).includes(profile.kind)) {
    throw new AirgapError(
      'USAGE_UNKNOWN_STACK',
      `${profile.file}: no stack module for kind ${JSON.stringify(profile.kind)} (known: ${STACK_KINDS.join(', ')})`,
    );
  }
}

/** A companion of `of`: the profile of that name beside it (in the same bundles/ directory). */
export async function loadCompanion(of: Profile, name: string): Promise<Profile> {
  const p = await loadProfile(path.join(path.dirname(of.file), `${name}.yaml`));
  if (p.name !== name)
    throw new AirgapError('PROFILE_INVALID', `${p.file}: name is ${p.name}; ${of.file} names it as companion ${name}`);
  return { ...p, companionOf: of.name };
}

export async function loadProfile(nameOrPath: string): Promise<Profile> {
  const file = profilePath(nameOrPath);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    let known = '';
    try {
      known = ` (known profiles: ${(await listBuiltinProfiles()).join(', ')})`;
    } catch {
      /* none */
    }
    throw new AirgapError('PROFILE_UNKNOWN', `unknown profile ${nameOrPath}: ${file} does not exist${known}`);
  }
  return parseProfile(text, file);
}

/**
 * A profile's templates: `templates/<name>/` beside the profile's `bundles/` directory (a custom
 * profile given as a path brings its own), else the package's. Every template the profile lists
 * must be there; the error says where they were looked for.
 */
export function templatesDirFor(profile: Profile): string {
  const beside = path.join(path.dirname(path.dirname(profile.file)), 'templates', profile.name);
  const root = packageRoot();
  const inPackage = root ? path.join(root, 'templates', profile.name) : undefined;
  const dir = existsSync(beside) ? beside : inPackage && existsSync(inPackage) ? inPackage : undefined;
  const where = [beside, ...(inPackage && inPackage !== beside ? [inPackage] : [])].join(' or ');
  if (!dir)
    throw new AirgapError(
      'PROFILE_TEMPLATES_MISSING',
      `no templates for profile ${profile.name} in ${profile.file}: put them in ${where}`,
    );
  const missing = profile.templates.filter((t) => !existsSync(path.join(dir, t)));
  if (missing.length)
    throw new AirgapError(
      'PROFILE_TEMPLATES_MISSING',
      `profile ${profile.name} lists ${missing.join(', ')}, missing from ${dir}`,
    );
  return dir;
}
