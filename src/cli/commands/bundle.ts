import type { Argv, CommandModule } from 'yargs';
import { guarded, type AppOptions } from '../app-options.js';
import { bundleCopyCommand } from './bundle-copy.js';
import { bundleCreateCommand } from './bundle-create.js';
import { bundleInstallCommand } from './bundle-install.js';
import { bundleUninstallCommand } from './bundle-uninstall.js';
import { bundleKeygenCommand } from './bundle-keygen.js';
import { bundleLockCommand } from './bundle-lock.js';
import { bundlePackCommand } from './bundle-pack.js';
import { bundlePushCommand } from './bundle-push.js';
import { bundleUnpackCommand } from './bundle-unpack.js';
import { bundleVerifyCommand } from './bundle-verify.js';

export const bundleSubcommands: CommandModule<object, never>[] = [
  bundleKeygenCommand as unknown as CommandModule<object, never>,
  bundleLockCommand as unknown as CommandModule<object, never>,
  bundleCreateCommand as unknown as CommandModule<object, never>,
  bundlePackCommand as unknown as CommandModule<object, never>,
  bundleCopyCommand as unknown as CommandModule<object, never>,
  bundleVerifyCommand as unknown as CommandModule<object, never>,
  bundlePushCommand as unknown as CommandModule<object, never>,
  bundleUnpackCommand as unknown as CommandModule<object, never>,
  bundleInstallCommand as unknown as CommandModule<object, never>,
  bundleUninstallCommand as unknown as CommandModule<object, never>,
];

export function bundleCommand(opts: AppOptions): CommandModule {
  return {
    command: 'bundle <command>',
    describe: 'make, move, verify and install offline bundles',
    builder: (y: Argv) => {
      for (const c of bundleSubcommands) y.command(guarded(c as unknown as CommandModule, opts));
      return y.demandCommand(1, 'name a bundle command');
    },
    handler: () => undefined,
  };
}
