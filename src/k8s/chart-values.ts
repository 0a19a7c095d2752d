/**
 * Values files for sigstore's Helm charts, so a Kubernetes site runs the same pinned images from
 * its internal registry: every image rewritten to REGISTRY/PREFIX/<upstream repository> by its
 * upstream manifest digest, the log's origin, and references to the Secrets the operator creates
 * (the commands that create them come with the values). Pure: no cluster is touched.
 *
 * Keys follow sigstore/helm-charts as read at 196f212 (2026-08): rekor-tiles 1.2.1
 * (`image.{registry,repository,flavor,version}`, `server.hostname`, `server.posix.storageDir`,
 * `server.signer.file`), rekor 1.8.4 with its trillian 0.3.16 dependency
 * (`server.image`, `createtree.image`, `trillian.logServer.image`, `trillian.logSigner.image`,
 * `trillian.mysql.image`, each `{registry, repository, version: sha256:…}`).
 */
import yaml from 'js-yaml';
import { AirgapError } from '../errors.js';
import { parseImageRef } from '../ref/image-ref.js';

export interface PinnedImage {
  /** Upstream reference (registry/repository:tag). */
  ref: string;
  /** The platform manifest's upstream digest: what `bundle push` stores. */
  manifestDigest: string;
}

export interface ValuesInput {
  /** The profile's stack kind. */
  kind: string;
  registry: string;
  prefix: string;
  /** Images by profile image name. */
  images: Record<string, PinnedImage>;
  /** The log's origin (rekor-tiles --hostname), e.g. rekor.site.internal. */
  origin: string;
  namespace?: string;
  /** A Secret of type docker-registry for the internal registry, when it needs credentials. */
  pullSecret?: string;
}

export interface ChartValues {
  /** The chart these values are for. */
  chart: string;
  values: Record<string, unknown>;
  /** Shell commands that create what the values refer to. */
  commands: string[];
  /** What the site must still decide or provide. */
  notes: string[];
}

function imageKeys(img: PinnedImage, registry: string, prefix: string): { registry: string; repository: string; version: string } {
  const r = parseImageRef(img.ref);
  return { registry, repository: prefix ? `${prefix}/${r.repository}` : r.repository, version: img.manifestDigest };
}

function need(images: Record<string, PinnedImage>, name: string, kind: string): PinnedImage {
  const i = images[name];
  if (!i) throw new AirgapError('USAGE_INVALID', `the bundle has no image "${name}" for a ${kind} profile`);
  return i;
}

/** The Secret for the internal registry's credentials, when the values name one. */
function pullSecretCommands(input: ValuesInput, ns: string): string[] {
  if (!input.pullSecret) return [];
  return [`kubectl -n ${ns} create secret docker-registry ${input.pullSecret} --docker-server=${input.registry} --docker-username=USER --docker-password-stdin`];
}

/**
 * The values file: a header with what the values refer to (the commands that create it, the notes)
 * above the values as YAML. `source` says which registry path and profile they were made for.
 */
export function valuesFileText(v: ChartValues, source: { profile: string; registry: string; prefix: string; chartRef?: string }): string {
  return [
    `# Helm values for sigstore's ${v.chart} chart${source.chartRef ? ` (${source.chartRef} in this bundle)` : ''}, written by rekor-airgap k8s values`,
    `# for profile ${source.profile}: every image from ${source.registry}${source.prefix ? `/${source.prefix}` : ''} by its digest.`,
    '#',
    '# Create what these values refer to first:',
    ...v.commands.flatMap((c) => c.split('\n')).map((l) => `#   ${l}`),
    '#',
    ...v.notes.map((n) => `# note: ${n}`),
    '',
  ].join('\n') + yaml.dump(v.values, { lineWidth: 200, noRefs: true });
}

export function chartValues(input: ValuesInput): ChartValues {
  if (input.kind === 'rekor-v2') return rekorTilesValues(input);
  if (input.kind === 'rekor-v1') return rekorV1Values(input);
  throw new AirgapError('USAGE_INVALID', `no Helm chart values for stack kind ${input.kind}`);
}

function rekorTilesValues(input: ValuesInput): ChartValues {
  const ns = input.namespace ?? 'rekor-tiles-system';
  const rekor = imageKeys(need(input.images, 'rekor', input.kind), input.registry, input.prefix);
  // The chart builds registry/repository/<flavor>: the flavor is the last path segment.
  const flavor = rekor.repository.split('/').pop()!;
  if (!['posix', 'gcp', 'aws', 'gcpcloudsql'].includes(flavor)) throw new AirgapError('USAGE_INVALID', `${rekor.repository}: the rekor-tiles chart needs a flavor image (…/posix)`);
  const values = {
    image: {
      registry: rekor.registry, repository: rekor.repository.slice(0, -flavor.length - 1), flavor, version: rekor.version,
      pullPolicy: 'IfNotPresent',
    },
    namespace: { create: false, name: ns },
    ...(input.pullSecret ? { imagePullSecrets: [{ name: input.pullSecret }] } : {}),
    // Upstream's default selects GKE nodes with the metadata server; a site's cluster has none.
    nodeSelector: null,
    server: {
      hostname: input.origin,
      posix: {
        storageDir: { path: '/storage', name: 'rekor-tiles-storage', volume: { persistentVolumeClaim: { claimName: 'rekor-tiles-storage' } } },
      },
      signer: {
        file: { path: '/pki/signer.pem', withPassword: false, secret: { name: 'rekor-signing-key', key: 'signing-key', mountPath: '/pki', mountSubPath: 'signer.pem' } },
      },
    },
  };
  return {
    chart: 'rekor-tiles', values,
    commands: [
      `kubectl create namespace ${ns}`,
      '# the log\'s signing key (Ed25519, PKCS#8 PEM); keep a copy offline: it is the log\'s identity',
      'openssl genpkey -algorithm ed25519 -out rekor-signer.pem',
      `kubectl -n ${ns} create secret generic rekor-signing-key --from-file=signing-key=rekor-signer.pem`,
      `# the tiles: a PersistentVolumeClaim named rekor-tiles-storage (ReadWriteOnce, one replica writes)`,
      `kubectl -n ${ns} apply -f - <<'EOF'\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: rekor-tiles-storage\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 20Gi\nEOF`,
      ...pullSecretCommands(input, ns),
    ],
    notes: [
      'POSIX tiles need rekor-tiles chart 1.1.0 or later (image.flavor: posix); earlier charts are GCP-only.',
      'The chart serves the write API and tiles over plain HTTP on port 3000: put TLS in front (an Ingress or a Service mesh) with the site CA.',
      'Run one replica: a POSIX log has one writer.',
    ],
  };
}

function rekorV1Values(input: ValuesInput): ChartValues {
  const ns = input.namespace ?? 'rekor-system';
  const k = (name: string) => imageKeys(need(input.images, name, input.kind), input.registry, input.prefix);
  const values = {
    ...(input.pullSecret ? { imagePullSecrets: [{ name: input.pullSecret }] } : {}),
    server: { image: { ...k('rekor'), pullPolicy: 'IfNotPresent' } },
    createtree: { image: { ...k('createtree'), pullPolicy: 'IfNotPresent' } },
    // The bundle carries no Redis: the search index stays off.
    redis: { enabled: false },
    trillian: {
      enabled: true,
      logServer: { image: { ...k('trillian_log_server'), pullPolicy: 'IfNotPresent' } },
      logSigner: { image: { ...k('trillian_log_signer'), pullPolicy: 'IfNotPresent' } },
      mysql: { image: { ...k('mariadb'), pullPolicy: 'IfNotPresent' } },
    },
  };
  return {
    chart: 'rekor', values,
    commands: [
      `kubectl create namespace ${ns}`,
      ...pullSecretCommands(input, ns),
    ],
    notes: [
      'The rekor and trillian charts also use images this bundle does not carry: trillian\'s createdb job (ghcr.io/sigstore/scaffolding/createdb) and, when enabled, redis and backfill-redis. Add them to a profile, or point the chart at existing ones.',
      `trillian.mysql.image is set to the bundle's MariaDB (${input.images.mariadb?.ref ?? 'mariadb'}); the chart's default is Trillian's db_server image, whose entrypoint differs: check its args for your chart version.`,
    ],
  };
}
