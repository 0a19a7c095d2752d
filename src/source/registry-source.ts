/**
 * Images from their registries, daemonless: a RegistryClient per host, honouring mirrors, CAs,
 * plain-HTTP exceptions and credentials.
 */
import { promises as fsp } from 'node:fs';
import { AirgapError } from '../errors.js';
import { resolveSource, type ImageRef, type MirrorMap } from '../ref/image-ref.js';
import { RegistryClient } from '../registry/client.js';
import { credentialFor } from '../registry/credentials.js';
import { pullImage } from '../registry/pull.js';
import type { ImageSource } from './image-source.js';

export interface RegistryAccess {
  mirrors: MirrorMap;
  /** PEM of extra CA certificates for HTTPS registries. */
  ca?: string | undefined;
  insecureRegistries: readonly string[];
  concurrency: number;
}

export async function readCaFiles(files: readonly string[]): Promise<string | undefined> {
  if (files.length === 0) return undefined;
  const parts = await Promise.all(
    files.map(async (f) => {
      try {
        return await fsp.readFile(f, 'utf8');
      } catch (e) {
        throw new AirgapError('USAGE_BAD_CA', `cannot read the CA file ${f}: ${(e as Error).message}`, { cause: e });
      }
    }),
  );
  return parts.join('\n');
}

export class RegistryPool {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly access: RegistryAccess) {}

  /** The client and repository path that serve `ref` (through its mirror when one is set). */
  sourceFor(ref: ImageRef): { client: RegistryClient; repository: string } {
    const { host, repository } = resolveSource(ref, this.access.mirrors);
    return { client: this.clientFor(host), repository };
  }

  clientFor(host: string): RegistryClient {
    let c = this.clients.get(host);
    if (!c) {
      c = new RegistryClient({
        host,
        ca: this.access.ca,
        insecure: this.access.insecureRegistries.includes(host),
        credential: credentialFor(host),
      });
      this.clients.set(host, c);
    }
    return c;
  }
}

/** The registries (or their mirrors) as the source of a bundle's images. */
export function registrySource(pool: RegistryPool, concurrency: number): ImageSource {
  return {
    locate: (ref) => {
      const { client, repository } = pool.sourceFor(ref);
      return `${client.host}/${repository}`;
    },
    pull: (c) => {
      const { client, repository } = pool.sourceFor(c.ref);
      return pullImage(client, {
        repo: repository,
        reference: c.ref.tag ?? c.ref.digest!,
        displayRef: c.displayRef,
        layout: c.layout,
        platform: c.platform,
        concurrency,
        ...(c.onTotal ? { onTotal: c.onTotal } : {}),
        ...(c.onBlob ? { onBlob: c.onBlob } : {}),
        ...(c.onBytes ? { onBytes: c.onBytes } : {}),
      });
    },
  };
}
