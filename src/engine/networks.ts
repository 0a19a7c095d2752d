/**
 * The IPv4 ranges already taken on the engine's host: every network the engine has, and the
 * host's routes (a site network the host reaches must not be shadowed by a bridge).
 */
import { promises as fsp } from 'node:fs';
import type Docker from 'dockerode';
import { parseProcRoutes } from './internal-net.js';

interface NetworkSummary {
  Name?: string;
  IPAM?: { Config?: Array<{ Subnet?: string }> | null };
}

function subnetsOf(n: NetworkSummary): string[] {
  return (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter((s) => s.includes('.'));
}

/** The IPv4 subnets of the network called `name`, or undefined when the engine has none by that name. */
export async function networkSubnets(docker: Docker, name: string): Promise<string[] | undefined> {
  const all = (await docker.listNetworks()) as NetworkSummary[];
  const own = all.find((n) => n.Name === name);
  return own ? subnetsOf(own) : undefined;
}

/** Ranges in use, leaving out network `own` (this instance's own, when it exists) and its route. */
export async function subnetsInUse(docker: Docker, own: string): Promise<string[]> {
  const all = (await docker.listNetworks()) as NetworkSummary[];
  const mine = new Set(all.filter((n) => n.Name === own).flatMap(subnetsOf));
  const engine = all.filter((n) => n.Name !== own).flatMap(subnetsOf);
  const routes = parseProcRoutes(await fsp.readFile('/proc/net/route', 'utf8').catch(() => ''));
  return [...engine, ...routes.filter((r) => !mine.has(r))];
}
