import type { CommandModule } from 'yargs';
import { loadTrustedKeys } from '../../bundle/signing.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { typed, withCommon, withTrust } from '../options.js';

interface Args extends CommonArgs {
  path: string;
  to: string;
  trust: string[];
  resume: boolean;
}

export const bundleUnpackCommand = {
  command: 'unpack <path>',
  describe: 'verify packed media and unpack it into a bundle directory (nothing is written unless all of it verifies)',
  builder: (y) =>
    typed<Args>(
      withTrust(withCommon(y))
        .positional('path', {
          type: 'string',
          demandOption: true,
          describe: 'media directory with transfer-index.json',
        })
        .option('to', { type: 'string', demandOption: true, describe: 'empty directory to unpack the bundle into' })
        .option('resume', {
          type: 'boolean',
          default: false,
          describe: 'keep chunks and files verified by an earlier, failed unpack into --to',
        })
        .example('$0 bundle unpack /media/usb --to /srv/bundle --trust bundle-signing.pub', ''),
    ),
  handler: async (args) => {
    const { readMedia } = await import('../../media/read-media.js');
    const keys = await loadTrustedKeys(args.trust);
    const r = await readMedia({
      mediaDir: args.path,
      keys,
      progress: progressFor(args),
      unpackTo: args.to,
      resume: args.resume,
    });
    printResult(
      args,
      {
        ok: true,
        to: r.unpackedTo,
        signedBy: r.signedBy,
        chunksVerified: r.chunksVerified,
        filesWritten: r.filesWritten,
        filesSkipped: r.filesSkipped,
      },
      `unpacked into ${r.unpackedTo}: ${r.manifest.files.length} files (${r.filesSkipped} kept from an earlier run), ${r.index.chunks.length} chunks verified`,
    );
  },
} satisfies CommandModule<object, Args>;
