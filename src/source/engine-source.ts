/**
 * `bundle create --source docker`: images come from the local engine (pull, then export) for
 * operators whose registry credentials live in the daemon. The engine's `docker save` stream is
 * taken apart as it arrives: every file is hashed into the OCI layout, and manifest.json says which
 * blob is the config and which are the layers (uncompressed tars, whose digests are the diff IDs).
 */
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { AirgapError } from '../errors.js';
import type { OciLayoutWriter } from '../oci/layout.js';
import { MediaType, type Descriptor, type ImageManifest, type Platform } from '../oci/media-types.js';
import { parseTar } from '../util/tar.js';
import { formatPlatform } from '../registry/platform.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import type { PulledImage } from '../registry/pull.js';
import { resolveSource, type ImageRef, type MirrorMap } from '../ref/image-ref.js';
import type { ImageSource } from './image-source.js';

/** `docker save`'s manifest.json lists one image's config and layer names: a few KiB. */
const MAX_SAVE_MANIFEST = 1024 * 1024;

/** The config and layer file names from a `docker save` manifest.json (its first image). */
export function parseSaveManifest(bytes: Uint8Array, displayRef: string): { config: string; layers: string[] } {
  const first = readUntrustedJson(
    bytes,
    { what: `the engine's export of ${displayRef}: manifest.json`, code: 'ENGINE_SAVE_INVALID' },
    { maxBytes: MAX_SAVE_MANIFEST },
  ).list()[0];
  if (!first)
    throw new AirgapError('ENGINE_SAVE_INVALID', `the engine's export of ${displayRef} has no image in manifest.json`);
  return {
    config: first.at('Config').string(),
    layers: first
      .at('Layers')
      .list()
      .map((l) => l.string()),
  };
}

async function pull(docker: Docker, ref: string, platform: Platform): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(ref, { platform: formatPlatform(platform) });
  } catch (e) {
    throw new AirgapError('REGISTRY_ENGINE_PULL_FAILED', `the engine could not pull ${ref}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const bad = out?.find((o) => o.error || o.errorDetail);
        if (err || bad)
          reject(
            new AirgapError(
              'REGISTRY_ENGINE_PULL_FAILED',
              `the engine could not pull ${ref}: ${err?.message ?? bad?.errorDetail?.message ?? bad?.error}`,
            ),
          );
        else resolve();
      },
    );
  });
}

export interface EnginePull {
  /** What the engine pulls (the source, mirror applied). */
  pullRef: string;
  /** The upstream reference, for messages. */
  displayRef: string;
  platform: Platform;
  layout: OciLayoutWriter;
  onBytes?: (n: number) => void;
}

export async function pullViaEngine(docker: Docker, p: EnginePull): Promise<PulledImage> {
  const { pullRef, displayRef, platform, layout } = p;
  await pull(docker, pullRef, platform);
  const info = await inspectPulled(docker, p);
  const saved = await exportImage(docker, p);
  const { config, layers } = savedImage(saved, displayRef, info.Id);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: config.digest, size: config.size },
    layers,
  };
  const desc = await layout.putBytes(Buffer.from(JSON.stringify(manifest)), MediaType.OCI_MANIFEST);
  const repo = pullRef.replace(/[:@][^/]*$/, '');
  const repoDigest = (info.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`))?.split('@')[1];
  return {
    resolvedDigest: repoDigest ?? desc.digest,
    manifest: desc,
    layoutManifest: desc,
    manifestJson: manifest,
    configDigest: config.digest,
    layers,
    platform: formatPlatform(platform),
    size: desc.size + config.size + layers.reduce((a, l) => a + l.size, 0),
  };
}

/** The pulled image as the engine has it: it must be of the wanted platform. */
async function inspectPulled(
  docker: Docker,
  { pullRef, displayRef, platform }: EnginePull,
): Promise<Docker.ImageInspectInfo> {
  const info = await docker.getImage(pullRef).inspect();
  if (info.Os !== platform.os || info.Architecture !== platform.architecture) {
    throw new AirgapError(
      'REGISTRY_PLATFORM_NOT_FOUND',
      `${displayRef} in the engine is ${info.Os}/${info.Architecture}, not ${formatPlatform(platform)}`,
    );
  }
  return info;
}

/** What the engine's export held: each file's blob by its name in the export, and manifest.json. */
interface SavedFiles {
  files: Map<string, { digest: string; size: number }>;
  manifestJson?: Buffer;
}

/** The engine's `docker save` stream, taken apart as it arrives. */
async function exportImage(docker: Docker, { pullRef, displayRef, layout, onBytes }: EnginePull): Promise<SavedFiles> {
  const saved: SavedFiles = { files: new Map() };
  const stream = (await docker.getImage(pullRef).get()) as unknown as Readable;
  await parseTar(stream as AsyncIterable<Buffer>, async (h) => {
    if (h.type !== '0') return null;
    if (h.path === 'manifest.json') {
      // Kept in memory: its size is checked from the header before a byte of it is.
      if (h.size > MAX_SAVE_MANIFEST)
        throw new AirgapError(
          'ENGINE_SAVE_INVALID',
          `the engine's export of ${displayRef}: manifest.json is ${h.size} bytes, more than ${MAX_SAVE_MANIFEST}`,
        );
      const parts: Buffer[] = [];
      return {
        write: (b) => {
          parts.push(Buffer.from(b));
        },
        end: () => {
          saved.manifestJson = Buffer.concat(parts);
        },
      };
    }
    // Everything else goes into the blob store as it streams; what no image needs is removed later.
    const blob = await layout.openUnknown();
    return {
      write: async (b) => {
        await blob.write(Buffer.from(b));
        onBytes?.(b.length);
      },
      end: async () => {
        saved.files.set(h.path, await blob.commit());
      },
    };
  });
  return saved;
}

/** The image's config (the one the engine named, `imageId`) and layers, as manifest.json lists them. */
function savedImage(
  { files, manifestJson }: SavedFiles,
  displayRef: string,
  imageId: string,
): { config: { digest: string; size: number }; layers: Descriptor[] } {
  if (!manifestJson)
    throw new AirgapError('ENGINE_SAVE_INVALID', `the engine's export of ${displayRef} has no manifest.json`);
  const entry = parseSaveManifest(manifestJson, displayRef);
  const config = files.get(entry.config);
  if (!config) throw new AirgapError('ENGINE_SAVE_INVALID', `the engine's export of ${displayRef} has no config`);
  if (config.digest !== imageId)
    throw new AirgapError(
      'ENGINE_SAVE_INVALID',
      `the exported config of ${displayRef} is ${config.digest}, the engine says ${imageId}`,
    );
  const layers: Descriptor[] = entry.layers.map((l) => {
    const f = files.get(l);
    if (!f) throw new AirgapError('ENGINE_SAVE_INVALID', `the engine's export of ${displayRef} lacks layer ${l}`);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: f.digest, size: f.size };
  });
  return { config, layers };
}

/** The local engine as the source of a bundle's images: it pulls (mirrors applied) and exports each. */
export function engineSource(docker: Docker, mirrors: MirrorMap): ImageSource {
  const locate = (ref: ImageRef) => {
    const { host, repository } = resolveSource(ref, mirrors);
    return `${host}/${repository}`;
  };
  return {
    locate,
    pull: (c) =>
      pullViaEngine(docker, {
        pullRef: `${locate(c.ref)}${c.ref.digest ? `@${c.ref.digest}` : `:${c.ref.tag}`}`,
        displayRef: c.displayRef,
        platform: c.platform,
        layout: c.layout,
        ...(c.onBytes ? { onBytes: c.onBytes } : {}),
      }),
  };
}
