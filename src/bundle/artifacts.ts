/**
 * Pinned file artifacts: fetched at create time (https, or file:// for a local mirror), checked
 * against the profile's SHA-256, and optionally extracted from a zip (e.g. a Go module zip).
 */
import { promises as fsp } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AirgapError } from '../errors.js';
import { sha256Hex } from '../oci/digest.js';
import type { MirrorMap } from '../ref/image-ref.js';
import { DOWNLOAD_DEADLINE_MS, httpRequest, readAll } from '../util/http.js';
import { extractFromZip } from '../util/zip.js';
import type { ProfileArtifact } from './profile.js';

/** Applies a mirror to an artifact URL: `--mirror proxy.golang.org=file:///srv/goproxy`. */
export function mirrorUrl(url: string, mirrors: MirrorMap): string {
  const u = new URL(url);
  const m = mirrors.get(u.host);
  if (!m) return url;
  const base = /^[a-z]+:\/\//.test(m) ? m : `${u.protocol}//${m}`;
  return base.replace(/\/$/, '') + u.pathname + u.search;
}

export async function fetchArtifact(a: ProfileArtifact, mirrors: MirrorMap, ca?: string | Buffer): Promise<Buffer> {
  const url = mirrorUrl(a.url, mirrors);
  let bytes: Buffer;
  if (url.startsWith('file://')) {
    try {
      bytes = await fsp.readFile(fileURLToPath(url));
    } catch (e) {
      throw new AirgapError('ARTIFACT_UNREACHABLE', `artifact ${a.name}: cannot read ${url}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  } else {
    const res = await httpRequest(new URL(url), {
      ca,
      errorPrefix: 'ARTIFACT',
      redirects: 'any-origin',
      deadlineMs: DOWNLOAD_DEADLINE_MS,
    });
    if (res.status !== 200) {
      res.body.resume();
      throw new AirgapError('ARTIFACT_UNREACHABLE', `artifact ${a.name}: ${url} answered HTTP ${res.status}`);
    }
    bytes = await readAll(res.body, 512 * 1024 * 1024, 'ARTIFACT');
  }
  const got = sha256Hex(bytes);
  if (got !== a.sha256) {
    throw new AirgapError(
      'ARTIFACT_DIGEST_MISMATCH',
      `artifact ${a.name} from ${url}: sha256 mismatch, expected ${a.sha256}, got ${got}`,
    );
  }
  return a.extract ? extractFromZip(bytes, a.extract, `artifact ${a.name} (${url})`) : bytes;
}
