import type { CommandModule } from 'yargs';
import { parseImageRef } from '../../ref/image-ref.js';
import { printResult, progressFor, type CommonArgs } from '../output.js';
import { registryAccessFrom, typed, withCommon, withRegistry } from '../options.js';

interface Args extends CommonArgs {
  profile: string[];
  out?: string;
  mirror: string[];
  registryCa: string[];
  insecureRegistry: string[];
  concurrency: number;
}

export const bundleLockCommand = {
  command: 'lock',
  describe:
    'resolve each image tag of a profile (and of the companions it carries) to its digest and write <profile>.lock.json',
  builder: (y) =>
    typed<Args>(
      withRegistry(withCommon(y))
        .option('profile', {
          type: 'string',
          array: true,
          default: ['rekor-v2'],
          describe: 'profile name or YAML path (repeatable)',
        })
        .option('out', { type: 'string', describe: 'lock file path (default: next to the profile; one profile only)' })
        .example(
          '$0 bundle lock --profile rekor-v2 --mirror ghcr.io=mirror.internal:5000',
          'pins every image of the profile by digest in bundles/rekor-v2.lock.json',
        ),
    ),
  handler: async (args) => {
    const { lockPathFor, writeLock } = await import('../../bundle/lock.js');
    const { loadBundleProfiles } = await import('../../bundle/create.js');
    const { RegistryPool } = await import('../../source/registry-source.js');
    const access = await registryAccessFrom(args);
    const pool = new RegistryPool(access);
    const progress = progressFor(args);
    const written: Array<{ file: string; images: Record<string, { digest: string }> }> = [];
    for (const name of args.profile) {
      // The profile and the companions a bundle of it carries: one lock pins all their images.
      const [profile, ...companions] = await loadBundleProfiles([name]);
      const images: Record<string, { digest: string }> = {};
      for (const img of [profile!, ...companions].flatMap((p) => p.images)) {
        if (Object.hasOwn(images, img.ref)) continue;
        const ref = parseImageRef(img.ref);
        const { client, repository } = pool.sourceFor(ref);
        const m = await client.manifest(repository, ref.tag!);
        images[img.ref] = { digest: m.digest };
        progress.step(`${img.ref} → ${m.digest}`);
      }
      const file = args.out && args.profile.length === 1 ? args.out : lockPathFor(profile!);
      await writeLock(file, { profile: profile!.name, images });
      written.push({ file, images });
    }
    printResult(args, written, written.map((w) => `wrote ${w.file}`).join('\n'));
  },
} satisfies CommandModule<object, Args>;
