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
import { isIPv6 } from 'node:net';
import yaml from 'js-yaml';
import { AirgapError } from '../errors.js';
import { isRepositoryPath, parseImageRef } from '../ref/image-ref.js';

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

/** A DNS-1123 label: lowercase letters, digits and inner hyphens, at most 63 (Kubernetes namespaces). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain: labels joined by dots, at most 253 characters (Kubernetes Secret names). */
const isDnsSubdomain = (s: string) => s.length <= 253 && s.split('.').every((l) => DNS_LABEL.test(l));
/** A host name: labels of letters, digits and inner hyphens joined by dots (case as written). */
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const isHostName = (s: string) => s.length > 0 && s.length <= 253 && s.split('.').every((l) => HOST_LABEL.test(l));

/** A registry as `docker push` names it: host[:port], the host a name or a bracketed IPv6 address. */
export function isRegistryHost(s: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) return false;
  const [, host, port] = m;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) return false;
  return host!.startsWith('[') ? isIPv6(host!.slice(1, -1)) : isHostName(host!);
}

function refuse(
  code: 'USAGE_BAD_K8S_NAME' | 'USAGE_BAD_REGISTRY' | 'USAGE_BAD_ORIGIN',
  option: string,
  value: string,
  expected: string,
): never {
  throw new AirgapError(code, `${option} ${JSON.stringify(value)} is not ${expected}`, { details: { option } });
}

/**
 * Checks the operator's names (exit 2, naming the option): --namespace a DNS-1123 label,
 * --pull-secret a DNS-1123 subdomain (a Secret name), --registry host[:port], --prefix a repository
 * path, --origin a host name. Every name an operator passes ends up in YAML, in the header's
 * comments and in the shell commands it shows, so each is checked against what it names before
 * anything is written: a carriage return in --registry would end a comment line and start a
 * top-level key of its own.
 */
export function checkValuesNames(
  input: Pick<ValuesInput, 'registry' | 'prefix' | 'origin' | 'namespace' | 'pullSecret'>,
): void {
  if (input.namespace !== undefined && !DNS_LABEL.test(input.namespace)) {
    refuse(
      'USAGE_BAD_K8S_NAME',
      '--namespace',
      input.namespace,
      'a Kubernetes namespace name (a DNS-1123 label: lowercase letters, digits and inner hyphens, at most 63)',
    );
  }
  if (input.pullSecret !== undefined && !isDnsSubdomain(input.pullSecret)) {
    refuse(
      'USAGE_BAD_K8S_NAME',
      '--pull-secret',
      input.pullSecret,
      'a Kubernetes Secret name (a DNS-1123 subdomain: lowercase letters, digits, inner hyphens and dots)',
    );
  }
  if (!isRegistryHost(input.registry)) {
    refuse('USAGE_BAD_REGISTRY', '--registry', input.registry, 'a registry host[:port] (put a path in --prefix)');
  }
  if (input.prefix !== '' && !isRepositoryPath(input.prefix)) {
    refuse(
      'USAGE_BAD_REGISTRY',
      '--prefix',
      input.prefix,
      'a repository path (lowercase letters, digits, . _ - and /)',
    );
  }
  if (!isHostName(input.origin)) {
    refuse('USAGE_BAD_ORIGIN', '--origin', input.origin, "a host name (the log's origin, e.g. rekor.site.internal)");
  }
}

/** Line breaks as any YAML reader sees them: YAML 1.2's CR and LF, and YAML 1.1's NEL, LS and PS. */
const YAML_LINE_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/;
/** What YAML does not allow in a stream at all (a reader refuses the file): shown as U+FFFD. */
const NOT_PRINTABLE = /[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Comment lines for `text`: each of its lines behind `prefix` (which starts with "#"), so no
 * character of it can end a comment and begin YAML.
 */
export function commentLines(text: string, prefix = '# '): string[] {
  return text.split(YAML_LINE_BREAK).map((l) => `${prefix}${l.replace(NOT_PRINTABLE, '\ufffd')}`.trimEnd());
}

function imageKeys(
  img: PinnedImage,
  registry: string,
  prefix: string,
): { registry: string; repository: string; version: string } {
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
  return [
    `kubectl -n ${ns} create secret docker-registry ${input.pullSecret} --docker-server=${input.registry} --docker-username=USER --docker-password-stdin`,
  ];
}

/**
 * The values file: a header with what the values refer to (the commands that create it, the notes)
 * above the values as YAML. `source` says which registry path and profile they were made for.
 */
export function valuesFileText(
  v: ChartValues,
  source: { profile: string; registry: string; prefix: string; chartRef?: string },
): string {
  return (
    [
      ...commentLines(
        `Helm values for sigstore's ${v.chart} chart${source.chartRef ? ` (${source.chartRef} in this bundle)` : ''}, written by rekor-airgap k8s values`,
      ),
      ...commentLines(
        `for profile ${source.profile}: every image from ${source.registry}${source.prefix ? `/${source.prefix}` : ''} by its digest.`,
      ),
      '#',
      '# Create what these values refer to first:',
      ...v.commands.flatMap((c) => commentLines(c, '#   ')),
      '#',
      ...v.notes.flatMap((n) => commentLines(n, '# note: ')),
      '',
    ].join('\n') + yaml.dump(v.values, { lineWidth: 200, noRefs: true })
  );
}

export function chartValues(input: ValuesInput): ChartValues {
  checkValuesNames(input);
  if (input.kind === 'rekor-v2') return rekorTilesValues(input);
  if (input.kind === 'rekor-v1') return rekorV1Values(input);
  throw new AirgapError('USAGE_INVALID', `no Helm chart values for stack kind ${input.kind}`);
}

function rekorTilesValues(input: ValuesInput): ChartValues {
  const ns = input.namespace ?? 'rekor-tiles-system';
  const rekor = imageKeys(need(input.images, 'rekor', input.kind), input.registry, input.prefix);
  // The chart builds registry/repository/<flavor>: the flavor is the last path segment.
  const flavor = rekor.repository.split('/').pop()!;
  if (!['posix', 'gcp', 'aws', 'gcpcloudsql'].includes(flavor))
    throw new AirgapError('USAGE_INVALID', `${rekor.repository}: the rekor-tiles chart needs a flavor image (…/posix)`);
  const values = {
    image: {
      registry: rekor.registry,
      repository: rekor.repository.slice(0, -flavor.length - 1),
      flavor,
      version: rekor.version,
      pullPolicy: 'IfNotPresent',
    },
    namespace: { create: false, name: ns },
    ...(input.pullSecret ? { imagePullSecrets: [{ name: input.pullSecret }] } : {}),
    // Upstream's default selects GKE nodes with the metadata server; a site's cluster has none.
    nodeSelector: null,
    server: {
      hostname: input.origin,
      posix: {
        storageDir: {
          path: '/storage',
          name: 'rekor-tiles-storage',
          volume: { persistentVolumeClaim: { claimName: 'rekor-tiles-storage' } },
        },
      },
      signer: {
        file: {
          path: '/pki/signer.pem',
          withPassword: false,
          secret: { name: 'rekor-signing-key', key: 'signing-key', mountPath: '/pki', mountSubPath: 'signer.pem' },
        },
      },
    },
  };
  return {
    chart: 'rekor-tiles',
    values,
    commands: [
      `kubectl create namespace ${ns}`,
      "# the log's signing key (Ed25519, PKCS#8 PEM); keep a copy offline: it is the log's identity",
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
    chart: 'rekor',
    values,
    commands: [`kubectl create namespace ${ns}`, ...pullSecretCommands(input, ns)],
    notes: [
      "The rekor and trillian charts also use images this bundle does not carry: trillian's createdb job (ghcr.io/sigstore/scaffolding/createdb) and, when enabled, redis and backfill-redis. Add them to a profile, or point the chart at existing ones.",
      `trillian.mysql.image is set to the bundle's MariaDB (${input.images.mariadb?.ref ?? 'mariadb'}); the chart's default is Trillian's db_server image, whose entrypoint differs: check its args for your chart version.`,
    ],
  };
}
