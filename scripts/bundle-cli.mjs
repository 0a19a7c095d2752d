// Bundles the CLI with esbuild, twice from the same entry point:
// - dist/installer/rekor-airgap.mjs: one ESM file for the offline installer (no node_modules there);
// - dist/bin/cli.mjs: the `rekor-airgap` command, split at the commands' dynamic imports, so a command
//   loads only its own code, from a few files instead of hundreds of modules (start-up time).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entry = new URL('../src/cli/main.ts', import.meta.url).pathname;
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native optional modules of ssh2 (used by docker-modem for ssh://) are not needed offline.
  external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
  // CommonJS code's free __filename/__dirname are renamed to the banner's, not declared under
  // their own names: in the split build one file holds several hoisted modules, and one of them
  // declares its own __dirname.
  banner: {
    js: [
      "import { createRequire as __rekorAirgapCreateRequire } from 'node:module';",
      "import { fileURLToPath as __rekorAirgapFileURLToPath } from 'node:url';",
      "import { dirname as __rekorAirgapDirname } from 'node:path';",
      'const require = __rekorAirgapCreateRequire(import.meta.url);',
      'const __rekorAirgapFilename = __rekorAirgapFileURLToPath(import.meta.url);',
      'const __rekorAirgapDirnameValue = __rekorAirgapDirname(__rekorAirgapFilename);',
    ].join(' '),
  },
  define: {
    'process.env.REKOR_AIRGAP_VERSION': JSON.stringify(pkg.version),
    __filename: '__rekorAirgapFilename',
    __dirname: '__rekorAirgapDirnameValue',
  },
  legalComments: 'none',
  logLevel: 'warning',
};
await Promise.all([
  build({
    ...common,
    entryPoints: [entry],
    outfile: new URL('../dist/installer/rekor-airgap.mjs', import.meta.url).pathname,
  }),
  build({
    ...common,
    // Not named rekor-airgap.mjs: that name means the single-file tool (src/instance/tool.ts).
    entryPoints: { cli: entry },
    outdir: new URL('../dist/bin', import.meta.url).pathname,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
]);
