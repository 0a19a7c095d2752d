import type { CommandModule } from 'yargs';
import { generateSigningKey, readPassphrase } from '../../bundle/signing.js';
import { printResult, type CommonArgs } from '../output.js';
import { typed, withCommon, withPassphrase } from '../options.js';

interface Args extends CommonArgs {
  out: string;
  passphraseFile?: string;
}

export const bundleKeygenCommand = {
  command: 'keygen',
  describe: 'make a bundle signing key pair (ECDSA P-256): OUT.key (encrypted, 0600) and OUT.pub',
  builder: (y) =>
    typed<Args>(
      withPassphrase(withCommon(y))
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'path prefix of the key files, e.g. ./bundle-signing',
        })
        .example(
          '$0 bundle keygen --out ./bundle-signing --passphrase-file ./pass.txt',
          'writes bundle-signing.key and bundle-signing.pub',
        ),
    ),
  handler: async (args) => {
    const passphrase = await readPassphrase(args.passphraseFile);
    await generateSigningKey(`${args.out}.key`, `${args.out}.pub`, passphrase);
    printResult(
      args,
      { privateKey: `${args.out}.key`, publicKey: `${args.out}.pub` },
      `wrote ${args.out}.key (encrypted, mode 0600) and ${args.out}.pub\ngive ${args.out}.pub to the offline site: bundle verify and install take it with --trust`,
    );
  },
} satisfies CommandModule<object, Args>;
