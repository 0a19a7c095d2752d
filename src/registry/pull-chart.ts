/**
 * Copies a Helm chart from a registry into an OCI layout: the chart's manifest (kept byte for
 * byte: its digest is what the bundle records and the push keeps), its config (name, version) and
 * layers (the chart archive, a provenance file when there is one), each verified as it streams.
 */
import { AirgapError } from '../errors.js';
import type { OciLayoutWriter } from '../oci/layout.js';
import { HelmMediaType, MediaType, type Descriptor } from '../oci/media-types.js';
import { parseImageManifest } from '../oci/manifest-parse.js';
import { readUntrustedJson } from '../util/untrusted-json.js';
import type { RegistryClient } from './client.js';
import { fetchLayers } from './pull.js';

export interface PulledChart {
  digest: string;
  manifest: Descriptor;
  configDigest: string;
  chartDigest: string;
  name: string;
  version: string;
  size: number;
}

/** The config is fetched with a 1 MiB cap; the parse is capped the same way. */
const MAX_CHART_CONFIG = 1024 * 1024;

/** The chart's name and version from its config blob (Chart.yaml as JSON), size and nesting capped. */
export function parseChartConfig(bytes: Uint8Array, what: string): { name: string; version: string } {
  const v = readUntrustedJson(bytes, { what, code: 'REGISTRY_BAD_MANIFEST' }, { maxBytes: MAX_CHART_CONFIG });
  if (!v.isObject || typeof v.at('name').raw !== 'string' || typeof v.at('version').raw !== 'string') {
    throw new AirgapError('REGISTRY_BAD_MANIFEST', `${what}: a Helm chart config needs a name and a version`);
  }
  return { name: v.at('name').string(), version: v.at('version').string() };
}

export async function pullChart(
  client: RegistryClient,
  repo: string,
  reference: string,
  displayRef: string,
  layout: OciLayoutWriter,
): Promise<PulledChart> {
  const top = await client.manifest(repo, reference);
  if (top.mediaType !== MediaType.OCI_MANIFEST) {
    throw new AirgapError(
      'REGISTRY_UNSUPPORTED_MANIFEST',
      `${displayRef}: ${top.mediaType || '(no media type)'} is not a Helm chart (an OCI manifest with config ${HelmMediaType.CONFIG})`,
    );
  }
  const manifest = parseImageManifest(top.bytes, `manifest of ${displayRef}`);
  if (manifest.config.mediaType !== HelmMediaType.CONFIG) {
    throw new AirgapError(
      'REGISTRY_UNSUPPORTED_MANIFEST',
      `${displayRef} is not a Helm chart: its config is ${manifest.config.mediaType}, not ${HelmMediaType.CONFIG}`,
    );
  }
  const chart = manifest.layers.find((l) => l.mediaType === HelmMediaType.CHART);
  if (!chart)
    throw new AirgapError('REGISTRY_BAD_MANIFEST', `${displayRef}: no chart archive layer (${HelmMediaType.CHART})`);
  const config = await client.blobBytes(repo, manifest.config.digest, MAX_CHART_CONFIG);
  const meta = parseChartConfig(config, `chart config of ${displayRef}`);
  await layout.putBytes(config, manifest.config.mediaType);
  await fetchLayers(client, { repo, displayRef, layout, layers: manifest.layers, concurrency: 1 });
  const desc = await layout.putBytes(top.bytes, top.mediaType);
  return {
    digest: top.digest,
    manifest: desc,
    configDigest: manifest.config.digest,
    chartDigest: chart.digest,
    ...meta,
    size: top.bytes.length + config.length + manifest.layers.reduce((a, l) => a + l.size, 0),
  };
}
