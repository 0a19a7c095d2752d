/**
 * The end-to-end tests' view of the rig (test/rig/rig up). Without a rig the e2e suites skip with
 * a loud message; with CI=true a missing rig fails them instead.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface Rig {
  registry: string;
  tlsRegistry: string;
  tlsRegistryCa: string;
  tlsRegistryUser: string;
  tlsRegistryPassword: string;
  connectedDockerHost: string;
  offlineDockerHost: string;
  offlineNetns: string;
  rekorCli: string;
  cosign: string;
  goChecker: string;
  goModCacheDownload: string;
  tesseraFsck: string;
  cosign3: string;
  tsaServer: string;
  podmanDockerHost: string;
  podmanNetns: string;
  helm: string;
  /** The trusted root of the rig's test Sigstore, which signs the stand-in images as upstream does. */
  sigstoreTrustedRoot: string;
}

export const RIG_ENV = process.env.RIG_RUN ? `${process.env.RIG_RUN}/rig.env` : '/run/rekor-airgap-rig/rig.env';

function load(): Rig | undefined {
  if (!existsSync(RIG_ENV)) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(RIG_ENV, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    registry: env.RIG_REGISTRY!,
    tlsRegistry: env.RIG_TLS_REGISTRY!,
    tlsRegistryCa: env.RIG_TLS_REGISTRY_CA!,
    tlsRegistryUser: env.RIG_TLS_REGISTRY_USER!,
    tlsRegistryPassword: readFileSync(env.RIG_TLS_REGISTRY_PASSWORD_FILE!, 'utf8').trim(),
    connectedDockerHost: env.RIG_CONNECTED_DOCKER_HOST!,
    offlineDockerHost: env.RIG_OFFLINE_DOCKER_HOST!,
    offlineNetns: env.RIG_OFFLINE_NETNS!,
    rekorCli: env.RIG_REKOR_CLI!,
    cosign: env.RIG_COSIGN!,
    goChecker: env.RIG_GO_CHECKER!,
    goModCacheDownload: env.RIG_GOMODCACHE_DOWNLOAD!,
    tesseraFsck: env.RIG_TESSERA_FSCK!,
    cosign3: env.RIG_COSIGN3!,
    tsaServer: env.RIG_TSA_SERVER!,
    podmanDockerHost: env.RIG_PODMAN_DOCKER_HOST!,
    podmanNetns: env.RIG_PODMAN_NETNS!,
    helm: env.RIG_HELM!,
    sigstoreTrustedRoot: env.RIG_SIGSTORE_TRUSTED_ROOT!,
  };
}

export const rig: Rig | undefined = load();

if (!rig) {
  if (process.env.CI === 'true') {
    throw new Error(
      `end-to-end rig missing: ${RIG_ENV} does not exist (run test/rig/rig up); CI=true makes this a failure`,
    );
  }
  process.stderr.write(
    `\n*** end-to-end tests SKIPPED: no rig (${RIG_ENV} missing). Run test/rig/rig up, or npm test. ***\n\n`,
  );
}

/** The rig, or a failure naming what is missing (use inside tests that run only with a rig). */
export function needRig(): Rig {
  if (!rig) throw new Error(`no rig: ${RIG_ENV} missing`);
  return rig;
}

/** Mirrors that send every upstream reference of the profiles to the rig's plain registry. */
export function rigMirrors(r: Rig): string[] {
  return [
    '--mirror',
    `ghcr.io=${r.registry}`,
    '--mirror',
    `docker.io=${r.registry}`,
    '--mirror',
    `proxy.golang.org=file://${r.goModCacheDownload}`,
  ];
}

/**
 * What `bundle create` is given in the rig: its mirrors (above), and the trusted root of the test
 * Sigstore that signed the rig's images as upstream signs its own.
 */
export function rigSources(r: Rig): string[] {
  return ['--sigstore-trusted-root', r.sigstoreTrustedRoot, ...rigMirrors(r)];
}
