/**
 * state.json of an installed instance: what a rerun, an upgrade, status, smoke and uninstall need to
 * know. Stack-specific facts (the Trillian tree of Rekor v1) live under `stack`.
 */
import { AirgapError, type ErrorCode } from '../errors.js';
import { readRegularFile } from '../util/bounded-read.js';
import { readUntrustedJson, type JsonSource, type JsonValue } from '../util/untrusted-json.js';
import { canonicalJson } from '../util/canonical-json.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { dataDirFor, instancePaths } from './layout.js';
import { SHA256_HEX_PATTERN } from '../util/sha256.js';
import { DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_SERVING_LIMITS, type ServingLimits } from './serving-limits.js';

/**
 * Another shard of the same log, as trust files need it (log rotate): a shard rotated out keeps
 * verifying what it holds, so its key and window stay in the trust files of every later shard.
 */
export interface ShardFacts {
  instance: string;
  url: string;
  origin: string;
  logPublicKeyPem: string;
  /** Hex of its 32-byte key ID. */
  logKeyId: string;
  /** When its key began to sign. */
  validFrom: string;
  /** When it went read-only (a shard rotated out). */
  validUntil?: string;
  /** Its last checkpoint (a shard rotated out: read-only, it signs no other). */
  finalCheckpoint?: { size: number; rootHex: string };
  /** Its timestamp authority's chain (PEM, leaf first), when it ran one. */
  tsaChainPem?: string;
  /** The CA its TLS certificate is issued by (clients that read it need it). */
  caCertPem?: string;
}

/** A rotation under way, kept in the old shard's state until it is done: a rerun resumes it. */
export interface RotationJournal {
  to: string;
  toDataDir: string;
  startedAt: string;
}

export interface InstanceState {
  instance: string;
  profile: string;
  /** The stack module that runs it (`kind:` of the profile). */
  kind: string;
  project: string;
  dataDir: string;
  hostname: string;
  origin: string;
  httpsPort: number;
  bindAddress: string;
  url: string;
  /** rekor-tiles' checkpoint interval (a Go duration). */
  checkpointInterval: string;
  /** What nginx allows each client (install options, kept for reruns, upgrades and restores). */
  limits: ServingLimits;
  /** The /26 of the instance's internal network, for a stack whose services have fixed addresses. */
  internalSubnet?: string;
  /** Facts a stack keeps (e.g. `treeId`). */
  stack: Record<string, string>;
  logPublicKeyPem: string;
  /** Hex of the log's 32-byte key ID. */
  logKeyId: string;
  bundle: { createdAt: string; manifestSha256: string; release: number };
  /** The highest bundle release this instance has run (an install never goes below it by default). */
  highestRelease: number;
  images: Record<string, { ref: string; configDigest: string }>;
  installedAt: string;
  updatedAt: string;
  /** Writes refused since this time (rekor-tiles --read-only): the log was rotated. */
  readOnlySince?: string;
  /** The last checkpoint it signed before it went read-only. */
  finalCheckpoint?: { size: number; rootHex: string };
  /** Operator name in the trust files; every shard of a log carries its first shard's. */
  operator?: string;
  /** The shard that took this log's writes over (log rotate). */
  rotatedTo?: ShardFacts;
  /** Earlier shards of this log, newest first: read-only, still trusted for what they hold. */
  previousShards?: ShardFacts[];
  /** A rotation of this instance under way. */
  rotation?: RotationJournal;
}

/** Facts rendered into the compose file and configuration: one token, no spaces or line breaks. */
const TOKEN = /^[^\s]+$/;
const MAX_STATE_BYTES = 1024 * 1024;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

function parseFinal(final: JsonValue): { size: number; rootHex: string } {
  return { size: final.at('size').int(), rootHex: final.at('rootHex').string(SHA256_HEX_PATTERN) };
}

function parseShard(v: JsonValue): ShardFacts {
  const final = v.at('finalCheckpoint');
  const validUntil = v.at('validUntil').optString(ISO_TIME);
  const tsaChainPem = v.at('tsaChainPem').optString();
  const caCertPem = v.at('caCertPem').optString();
  return {
    instance: v.at('instance').string(INSTANCE_NAME),
    url: v.at('url').string(TOKEN),
    origin: v.at('origin').string(TOKEN),
    logPublicKeyPem: v.at('logPublicKeyPem').string(),
    logKeyId: v.at('logKeyId').string(SHA256_HEX_PATTERN),
    validFrom: v.at('validFrom').string(ISO_TIME),
    ...(validUntil !== undefined ? { validUntil } : {}),
    ...(final.isAbsent ? {} : { finalCheckpoint: parseFinal(final) }),
    ...(tsaChainPem !== undefined ? { tsaChainPem } : {}),
    ...(caCertPem !== undefined ? { caCertPem } : {}),
  };
}

/** The optional fields of a rotated log (absent in every state written before rotation existed). */
function parseRotationFields(o: JsonValue): Partial<InstanceState> {
  const out: Partial<InstanceState> = {};
  const readOnlySince = o.at('readOnlySince').optString(ISO_TIME);
  if (readOnlySince !== undefined) out.readOnlySince = readOnlySince;
  if (!o.at('finalCheckpoint').isAbsent) out.finalCheckpoint = parseFinal(o.at('finalCheckpoint'));
  const operator = o.at('operator').optString();
  if (operator !== undefined) out.operator = operator;
  if (!o.at('rotatedTo').isAbsent) out.rotatedTo = parseShard(o.at('rotatedTo'));
  if (!o.at('previousShards').isAbsent) out.previousShards = o.at('previousShards').list().map(parseShard);
  const r = o.at('rotation');
  if (!r.isAbsent)
    out.rotation = {
      to: r.at('to').string(INSTANCE_NAME),
      toDataDir: r.at('toDataDir').string(),
      startedAt: r.at('startedAt').string(ISO_TIME),
    };
  return out;
}

/**
 * Parses state.json strictly: every field typed (a state written before `kind`/`stack`,
 * `highestRelease`, `bundle.release` or `checkpointInterval` existed is read in the new shape).
 * A fault is `src.code`: the instance's own state, or the state inside a backup archive.
 */
export function parseState(input: string | Uint8Array, src: JsonSource): InstanceState {
  const o = readUntrustedJson(input, src, { maxBytes: MAX_STATE_BYTES });
  const legacyTreeId = o.at('treeId').optString();
  const stack = o.at('stack').isAbsent
    ? legacyTreeId !== undefined
      ? { treeId: legacyTreeId }
      : {}
    : o.at('stack').stringMap();
  for (const [k, v] of Object.entries(stack))
    if (v !== '' && !TOKEN.test(v)) o.at('stack').at(k).fail('holds spaces or line breaks');
  const images = o.at('images');
  const bundle = o.at('bundle');
  const internalSubnet = o.at('internalSubnet').optString(TOKEN);
  return {
    instance: o.at('instance').string(INSTANCE_NAME),
    profile: o.at('profile').string(TOKEN),
    kind: o.at('kind').optString() ?? o.at('smoke').optString() ?? '',
    project: o.at('project').string(TOKEN),
    dataDir: o.at('dataDir').string(),
    hostname: o.at('hostname').string(TOKEN),
    origin: o.at('origin').string(TOKEN),
    httpsPort: o.at('httpsPort').int(1, 65535),
    bindAddress: o.at('bindAddress').string(TOKEN),
    url: o.at('url').string(TOKEN),
    checkpointInterval: o.at('checkpointInterval').optString(TOKEN) ?? DEFAULT_CHECKPOINT_INTERVAL,
    limits: parseLimits(o.at('limits')),
    ...(internalSubnet !== undefined ? { internalSubnet } : {}),
    stack,
    logPublicKeyPem: o.at('logPublicKeyPem').string(),
    logKeyId: o.at('logKeyId').string(SHA256_HEX_PATTERN),
    bundle: {
      createdAt: bundle.at('createdAt').string(),
      manifestSha256: bundle.at('manifestSha256').string(),
      release: bundle.at('release').optInt() ?? 0,
    },
    highestRelease: o.at('highestRelease').optInt() ?? 0,
    images: Object.fromEntries(
      images
        .keys()
        .map((k) => [
          k,
          { ref: images.at(k).at('ref').string(TOKEN), configDigest: images.at(k).at('configDigest').string() },
        ]),
    ),
    installedAt: o.at('installedAt').string(),
    updatedAt: o.at('updatedAt').string(),
    ...parseRotationFields(o),
  };
}

/** The serving limits (a state written before they were options holds none: the defaults then). */
function parseLimits(l: JsonValue): ServingLimits {
  if (l.isAbsent) return { ...DEFAULT_SERVING_LIMITS };
  const d = DEFAULT_SERVING_LIMITS;
  return {
    writeRate: l.at('writeRate').optInt(1, 100_000) ?? d.writeRate,
    writeBurst: l.at('writeBurst').optInt(0, 100_000) ?? d.writeBurst,
    maxConnectionsPerClient: l.at('maxConnectionsPerClient').optInt(1, 10_000) ?? d.maxConnectionsPerClient,
    maxBodyBytes: l.at('maxBodyBytes').optInt(1024, 64 * 1024 * 1024) ?? d.maxBodyBytes,
    proxyReadTimeoutSec: l.at('proxyReadTimeoutSec').optInt(5, 3600) ?? d.proxyReadTimeoutSec,
  };
}

/**
 * Reads `dataDir`'s state.json (undefined when there is none). `code` is the fault's code: the
 * instance's own state by default, BACKUP_ARCHIVE_CORRUPT for the state inside a backup.
 */
export async function readState(
  dataDir: string,
  code: Extract<ErrorCode, 'INSTALL_STATE_CORRUPT' | 'BACKUP_ARCHIVE_CORRUPT'> = 'INSTALL_STATE_CORRUPT',
): Promise<InstanceState | undefined> {
  const file = instancePaths(dataDir).state;
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, MAX_STATE_BYTES, code, 'the instance state');
  } catch (e) {
    if (((e as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw e;
  }
  return parseState(bytes, { what: file, code });
}

/** What a rotated log keeps across a rerun, an upgrade or a restore: its read-only switch and its shards. */
export function shardFieldsOf(s: InstanceState): Partial<InstanceState> {
  const keep: Partial<InstanceState> = {};
  for (const k of ['readOnlySince', 'finalCheckpoint', 'operator', 'rotatedTo', 'previousShards', 'rotation'] as const)
    if (s[k] !== undefined) (keep as Record<string, unknown>)[k] = s[k];
  return keep;
}

export async function writeState(state: InstanceState): Promise<void> {
  await writeFileAtomic(instancePaths(state.dataDir).state, canonicalJson(state), 0o644);
}

export async function requireState(instance: string, dataDir?: string): Promise<InstanceState> {
  const dir = dataDirFor(instance, dataDir);
  const s = await readState(dir);
  if (!s)
    throw new AirgapError(
      'INSTALL_NO_INSTANCE',
      `no instance ${instance} at ${dir} (pass --data-dir if it was installed elsewhere)`,
    );
  return s;
}
