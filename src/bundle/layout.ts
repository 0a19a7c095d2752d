/**
 * Every file and directory name of a bundle, in one place. Nothing else spells these paths.
 *
 *   bundle.json, bundle.json.sig     the signed manifest and its detached signature
 *   images/                          OCI image layout + docker-archive manifest.json
 *   profiles/<name>.yaml             the stack profiles the bundle was made for
 *   templates/<name>/...             what the installer renders for each profile
 *   artifacts/<name>                 pinned file artifacts (e.g. Trillian's SQL schema)
 *   installer/rekor-airgap.mjs       this tool, bundled into one file
 *   installer/node                   a Node.js runtime for the target platform
 *   install.sh                       the offline entry point
 */
import path from 'node:path';

export const BundleLayout = {
  MANIFEST: 'bundle.json',
  SIGNATURE: 'bundle.json.sig',
  INCOMPLETE_MARKER: '.rekor-airgap-incomplete',
  IMAGES_DIR: 'images',
  PROFILES_DIR: 'profiles',
  TEMPLATES_DIR: 'templates',
  ARTIFACTS_DIR: 'artifacts',
  INSTALLER_DIR: 'installer',
  INSTALLER_JS: 'installer/rekor-airgap.mjs',
  NODE_RUNTIME: 'installer/node',
  INSTALL_SH: 'install.sh',
  PROVENANCE_DIR: 'provenance',
  SIGSTORE_TRUSTED_ROOT: 'provenance/trusted_root.json',
} as const;

/** Files that the signed manifest does not list (it cannot list itself or its signature). */
export const UNLISTED_FILES: ReadonlySet<string> = new Set([BundleLayout.MANIFEST, BundleLayout.SIGNATURE]);

/** Paths inside a bundle, relative to its root (as bundle.json lists them). */
export const bundleRel = {
  profile: (name: string) => `${BundleLayout.PROFILES_DIR}/${name}.yaml`,
  template: (profile: string, name: string) => `${BundleLayout.TEMPLATES_DIR}/${profile}/${name}`,
  artifact: (name: string) => `${BundleLayout.ARTIFACTS_DIR}/${name}`,
  /** The manifest or index an image's tag resolved to, as upstream published it (by its digest's hex). */
  provenanceSubject: (digest: string) => `${BundleLayout.PROVENANCE_DIR}/${digest.replace('sha256:', '')}/subject.json`,
  /** An attestation of that image, a Sigstore bundle. */
  provenanceAttestation: (digest: string, n: number) =>
    `${BundleLayout.PROVENANCE_DIR}/${digest.replace('sha256:', '')}/attestation-${n}.sigstore.json`,
};

export const bundlePath = {
  manifest: (dir: string) => path.join(dir, BundleLayout.MANIFEST),
  signature: (dir: string) => path.join(dir, BundleLayout.SIGNATURE),
  marker: (dir: string) => path.join(dir, BundleLayout.INCOMPLETE_MARKER),
  images: (dir: string) => path.join(dir, BundleLayout.IMAGES_DIR),
  profile: (dir: string, name: string) => path.join(dir, BundleLayout.PROFILES_DIR, `${name}.yaml`),
  templates: (dir: string, profile: string) => path.join(dir, BundleLayout.TEMPLATES_DIR, profile),
  artifact: (dir: string, name: string) => path.join(dir, BundleLayout.ARTIFACTS_DIR, name),
  installerJs: (dir: string) => path.join(dir, BundleLayout.INSTALLER_JS),
  nodeRuntime: (dir: string) => path.join(dir, BundleLayout.NODE_RUNTIME),
  installSh: (dir: string) => path.join(dir, BundleLayout.INSTALL_SH),
};
