import type { CommandModule } from 'yargs';
import { loadTrustedKeys } from '../../bundle/signing.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { typed, withCommon, withTrust } from '../options.js';

interface Args extends CommonArgs {
  from: string;
  to: string;
  trust: string[];
}

export const bundleCopyCommand = {
  command: 'copy <from> <to>',
  describe: 'copy packed media onto a mounted medium: fsync, read back, compare with the signed index; resumes',
  builder: (y) =>
    typed<Args>(
      withTrust(withCommon(y))
        .positional('from', { type: 'string', demandOption: true, describe: 'directory written by bundle pack' })
        .positional('to', { type: 'string', demandOption: true, describe: 'directory on the mounted medium' })
        .example('$0 bundle copy ./packed /media/usb --trust bundle-signing.pub', ''),
    ),
  handler: async (args) => {
    const { copyMedia } = await import('../../media/copy.js');
    const r = await copyMedia(args.from, args.to, await loadTrustedKeys(args.trust), progressFor(args));
    printResult(
      args,
      r,
      `copied ${r.copied.length} files to ${args.to} and read each back (${r.skipped.length} already there and intact)`,
    );
  },
} satisfies CommandModule<object, Args>;
