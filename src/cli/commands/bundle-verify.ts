import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadTrustedKeys } from '../../bundle/signing.js';
import { TRANSFER_INDEX } from '../../media/transfer-index.js';
import { formatBytes } from '../../util/progress.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { typed, withCommon, withTrust } from '../options.js';
import { provenanceText } from '../../bundle/provenance-text.js';

interface Args extends CommonArgs {
  path: string;
  trust: string[];
}

export const bundleVerifyCommand = {
  command: 'verify <path>',
  describe: 'verify packed media (signed index, every chunk, every file) or an unpacked bundle directory',
  builder: (y) =>
    typed<Args>(
      withTrust(withCommon(y))
        .positional('path', {
          type: 'string',
          demandOption: true,
          describe: 'media directory (with transfer-index.json) or bundle directory (with bundle.json)',
        })
        .example('$0 bundle verify /media/usb --trust bundle-signing.pub', ''),
    ),
  handler: async (args) => {
    const { verifyBundleDir } = await import('../../bundle/verify-dir.js');
    const { readMedia } = await import('../../media/read-media.js');
    const keys = await loadTrustedKeys(args.trust);
    const progress = progressFor(args);
    if (existsSync(path.join(args.path, TRANSFER_INDEX))) {
      const r = await readMedia({ mediaDir: args.path, keys, progress });
      printResult(
        args,
        {
          ok: true,
          kind: 'media',
          signedBy: r.signedBy,
          chunks: r.index.chunks.length,
          files: r.manifest.files.length,
          profiles: r.manifest.profiles,
        },
        `OK: ${args.path}: index signed by ${r.signedBy}; ${r.index.chunks.length} chunks and ${r.manifest.files.length} files verified (${formatBytes(r.index.archive.size)})`,
      );
    } else {
      const r = await verifyBundleDir(args.path, keys, progress);
      const { verifyCarriedProvenance } = await import('../../bundle/provenance.js');
      const provenance = await verifyCarriedProvenance(r);
      printResult(
        args,
        {
          ok: true,
          kind: 'bundle',
          signedBy: r.signedBy,
          files: r.files,
          bytes: r.bytes,
          profiles: r.manifest.profiles,
          provenance,
        },
        [
          `OK: ${args.path}: bundle.json signed by ${r.signedBy}; ${r.files} files verified (${formatBytes(r.bytes)})`,
          'upstream provenance, verified again offline:',
          ...provenance.map((p) => `  ${p.image}@${p.digest}\n    ${provenanceText(p.provenance)}`),
        ].join('\n'),
      );
    }
  },
} satisfies CommandModule<object, Args>;
