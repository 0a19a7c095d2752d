/**
 * Fixed addresses on an instance's internal network. Services that others connect to get an
 * address of their own, written into every container's /etc/hosts, so no connection inside the
 * stack waits on the engine's DNS. Podman 4.3's aardvark-dns stops answering for half a minute
 * whenever a container starts or stops anywhere on the host (a backup's one-off container, another
 * tenant's install), and a Go service that opens a database connection then stalls past its
 * clients' timeouts.
 *
 * Each instance gets a /26 of POOL that overlaps no network the engine has and no route of the
 * host; it is kept in the instance state, so a rerun or an upgrade keeps its addresses.
 */
import { AirgapError } from '../errors.js';
import type { EngineKind } from './docker.js';

/**
 * Where instance networks are taken from, in /26 blocks: outside the ranges the engines hand out
 * by themselves (Docker's default pools 172.17.0.0/16–172.31.0.0/16 and 192.168.0.0/16, Podman's
 * 10.88.0.0/16 and 10.89.0.0/16), so that bridge networks the engine makes for other projects
 * cannot take the whole pool.
 */
export const POOL = '10.203.0.0/16';
const BLOCK_BITS = 26;
/**
 * The fixed addresses start here, in the upper half of the block; the engine hands out addresses
 * from the bottom to containers without one (Docker is held to the lower half by `ip_range`).
 */
const FIRST_FIXED = 48;

export interface Cidr {
  base: number;
  bits: number;
}

export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((p) => p > 255))
    throw new AirgapError('USAGE_INVALID', `${JSON.stringify(text)} is not an IPv4 address`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** An IPv4 CIDR; the base is masked to its prefix. Anything else (IPv6, garbage) is undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 32) return undefined;
  try {
    const bits = Number(m[2]);
    return { base: (parseIpv4(m[1]!) & mask(bits)) >>> 0, bits };
  } catch {
    return undefined;
  }
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.bits}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(bits)) >>> 0 === (b.base & mask(bits)) >>> 0;
}

/** A stable starting block for a project (instances rarely race for the same block). */
function seedOf(text: string, blocks: number): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h % blocks;
}

/**
 * The block to use: `keep` when it is still free of every used range, else the first free /26 of
 * POOL from a starting point derived from `seed`. Undefined when the pool is full.
 */
export function chooseSubnet(used: readonly string[], seed: string, keep?: string): string | undefined {
  const taken = used.map(parseCidr).filter((c): c is Cidr => c !== undefined && c.bits > 0);
  const free = (c: Cidr) => !taken.some((t) => overlaps(t, c));
  const kept = keep ? parseCidr(keep) : undefined;
  if (kept && kept.bits === BLOCK_BITS && free(kept)) return formatCidr(kept);
  const pool = parseCidr(POOL)!;
  const blocks = 2 ** (BLOCK_BITS - pool.bits);
  const start = seedOf(seed, blocks);
  for (let i = 0; i < blocks; i++) {
    const c = { base: (pool.base + ((start + i) % blocks) * 2 ** (32 - BLOCK_BITS)) >>> 0, bits: BLOCK_BITS };
    if (free(c)) return formatCidr(c);
  }
  return undefined;
}

export interface InternalAddressing {
  subnet: string;
  /**
   * The network's `ipam:` as a YAML flow mapping, as the engine reports it back (docker-compose
   * v1 refuses a network whose reported IPAM differs from the file's). Podman 4.3 reports the
   * `host-local` driver option and drops `ip_range`.
   */
  ipam: string;
  /** The fixed address of each service, by service name with `-` as `_` (a template variable name). */
  addr: Record<string, string>;
  /** `extra_hosts` of every service: a YAML flow list of "name:address". */
  extra_hosts: string;
}

/** The addresses of `services`, in order, in a block chosen by `chooseSubnet`. */
export function internalAddressing(
  subnet: string,
  services: readonly string[],
  engine: EngineKind,
): InternalAddressing {
  const c = parseCidr(subnet);
  if (!c || c.bits !== BLOCK_BITS)
    throw new AirgapError('USAGE_INVALID', `internal subnet ${subnet} is not a /${BLOCK_BITS}`);
  if (FIRST_FIXED + services.length > 2 ** (32 - BLOCK_BITS) - 1)
    throw new AirgapError('USAGE_INVALID', `${services.length} fixed addresses do not fit a /${BLOCK_BITS}`);
  const at = (i: number) => formatIpv4(c.base + FIRST_FIXED + i);
  return {
    subnet: formatCidr(c),
    ipam: JSON.stringify(
      engine === 'podman'
        ? { options: { driver: 'host-local' }, config: [{ subnet: formatCidr(c) }] }
        : { config: [{ subnet: formatCidr(c), ip_range: formatCidr({ base: c.base, bits: BLOCK_BITS + 1 }) }] },
    ),
    addr: Object.fromEntries(services.map((s, i) => [s.replace(/\W/g, '_'), at(i)])),
    extra_hosts: JSON.stringify(services.map((s, i) => `${s}:${at(i)}`)),
  };
}

/** Routes of /proc/net/route (little-endian hex destination and mask), default route left out. */
export function parseProcRoutes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]!) || !/^[0-9A-Fa-f]{8}$/.test(f[7]!)) continue;
    const le = (h: string) => Buffer.from(h, 'hex').readUInt32LE(0);
    const dest = le(f[1]!);
    const prefix = popcount(le(f[7]!));
    if (prefix === 0) continue;
    out.push(formatCidr({ base: (dest & mask(prefix)) >>> 0, bits: prefix }));
  }
  return out;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}
