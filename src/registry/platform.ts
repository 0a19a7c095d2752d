/** Platforms (`linux/amd64`, `linux/arm64/v8`) and choosing one manifest from an index. */
import { AirgapError } from '../errors.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/media-types.js';

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new AirgapError(
      'USAGE_BAD_PLATFORM',
      `platform ${JSON.stringify(text)} is not OS/ARCH[/VARIANT], e.g. linux/amd64`,
    );
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export function hostPlatform(): Platform {
  const arch =
    ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[
      process.arch
    ] ?? process.arch;
  return { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch };
}

function matches(want: Platform, have: Platform | undefined): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  return (have.variant ?? (have.architecture === 'arm64' ? 'v8' : '')) === want.variant;
}

/** The index entry for `want`; REGISTRY_PLATFORM_NOT_FOUND names the platforms there are. */
export function selectPlatform(index: ImageIndex, want: Platform, ref: string): Descriptor {
  const found = index.manifests.find((d) => matches(want, d.platform));
  if (found) return found;
  const have = index.manifests
    .filter((d) => d.platform && d.platform.os !== 'unknown')
    .map((d) => formatPlatform(d.platform!));
  throw new AirgapError(
    'REGISTRY_PLATFORM_NOT_FOUND',
    `${ref} has no image for ${formatPlatform(want)}; it has: ${have.join(', ') || '(none)'}`,
    { details: { available: have } },
  );
}
