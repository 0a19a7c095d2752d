// Bundles the CLI into one ESM file for the offline installer (no node_modules on that host).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/installer/rekor-airgap.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native optional modules of ssh2 (used by docker-modem for ssh://) are not needed offline.
  external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
  banner: {
    js: [
      "import { createRequire as __rekorAirgapCreateRequire } from 'node:module';",
      "import { fileURLToPath as __rekorAirgapFileURLToPath } from 'node:url';",
      "import { dirname as __rekorAirgapDirname } from 'node:path';",
      'const require = __rekorAirgapCreateRequire(import.meta.url);',
      'const __filename = __rekorAirgapFileURLToPath(import.meta.url);',
      'const __dirname = __rekorAirgapDirname(__filename);',
    ].join(' '),
  },
  define: { 'process.env.REKOR_AIRGAP_VERSION': JSON.stringify(pkg.version) },
  legalComments: 'none',
  logLevel: 'warning',
});
