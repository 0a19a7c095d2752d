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
}

/** Facts rendered into the compose file and configuration: one token, no spaces or line breaks. */
const TOKEN = /^[^\s]+$/;
const MAX_STATE_BYTES = 1024 * 1024;

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
    instance: o.at('instance').string(/^[a-z0-9][a-z0-9-]{0,30}$/),
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
