import type { CommandModule } from 'yargs';
import { loadSigningKey, readPassphrase } from '../../bundle/signing.js';
import { DEFAULT_CHUNK_SIZE, parseSize } from '../../media/transfer-index.js';
import { formatBytes } from '../../util/progress.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { typed, withCommon, withPassphrase } from '../options.js';

interface Args extends CommonArgs {
  bundle: string;
  out: string;
  chunkSize?: string;
  single: boolean;
  key: string;
  passphraseFile?: string;
}

export const bundlePackCommand = {
  command: 'pack <bundle>',
  describe: 'pack a bundle for removable media: a deterministic tar, in FAT32-safe chunks, with a signed index',
  builder: (y) =>
    typed<Args>(
      withPassphrase(withCommon(y))
        .positional('bundle', { type: 'string', demandOption: true, describe: 'bundle directory from bundle create' })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'empty directory for the chunks and transfer-index.json (e.g. the mounted medium)',
        })
        .option('chunk-size', {
          type: 'string',
          describe: `chunk size, e.g. 3900MiB, 700MB (default ${formatBytes(DEFAULT_CHUNK_SIZE)}: FAT32-safe)`,
        })
        .option('single', { type: 'boolean', default: false, describe: 'one archive file, however large' })
        .option('key', { type: 'string', demandOption: true, describe: 'signing key (the one that signed the bundle)' })
        .example('$0 bundle pack ./bundle --out /media/usb --key ./bundle-signing.key', ''),
    ),
  handler: async (args) => {
    const { packBundle } = await import('../../media/pack.js');
    const signingKey = await loadSigningKey(args.key, await readPassphrase(args.passphraseFile));
    const chunkSize = args.single
      ? Number.MAX_SAFE_INTEGER
      : args.chunkSize
        ? parseSize(args.chunkSize)
        : DEFAULT_CHUNK_SIZE;
    const index = await packBundle({
      bundleDir: args.bundle,
      outDir: args.out,
      chunkSize,
      signingKey,
      progress: progressFor(args),
    });
    printResult(
      args,
      index,
      [
        `packed ${formatBytes(index.archive.size)} into ${index.chunks.length} ${index.chunks.length === 1 ? 'file' : 'chunks'} in ${args.out}`,
        ...index.chunks.map((c) => `  ${c.name}  ${formatBytes(c.size)}  sha256 ${c.sha256}`),
        '  transfer-index.json (+ .sig)',
      ].join('\n'),
    );
  },
} satisfies CommandModule<object, Args>;
