/** The manifests stored in a bundle's layout, read back (to keep the blobs they name) as untrusted JSON. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobsNamedBy } from '../../../src/bundle/pull-into-layout.js';
import { OciLayoutWriter } from '../../../src/oci/layout.js';
import { expectCodeAsync } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

async function layoutWith(manifest: string): Promise<{ layout: OciLayoutWriter; digest: string }> {
  const layout = new OciLayoutWriter(path.join(tempDir('layout-'), 'images'));
  await layout.init();
  const digest = d('e');
  writeFileSync(layout.blobPath(digest), manifest);
  return { layout, digest };
}

describe('blobs a stored manifest names', () => {
  it('its layers, and its config when asked', async () => {
    const { layout, digest } = await layoutWith(
      JSON.stringify({
        schemaVersion: 2,
        config: { digest: d('c') },
        layers: [{ digest: d('1') }, { digest: d('2') }],
      }),
    );
    expect(await blobsNamedBy(layout, digest, { config: false })).toEqual(['1'.repeat(64), '2'.repeat(64)]);
    expect(await blobsNamedBy(layout, digest, { config: true })).toEqual([
      'c'.repeat(64),
      '1'.repeat(64),
      '2'.repeat(64),
    ]);
  });

  describe('when the manifest is damaged', () => {
    it('not JSON: REGISTRY_BAD_MANIFEST naming the blob, not a raw SyntaxError', async () => {
      const { layout, digest } = await layoutWith('{"layers": [');
      expect(
        (await expectCodeAsync(() => blobsNamedBy(layout, digest, { config: false }), 'REGISTRY_BAD_MANIFEST')).message,
      ).toContain(layout.blobPath(digest));
    });

    it('no layers, or a layer without a digest: the path of the value at fault', async () => {
      const { layout, digest } = await layoutWith(JSON.stringify({ config: { digest: d('c') } }));
      expect(
        (await expectCodeAsync(() => blobsNamedBy(layout, digest, { config: true }), 'REGISTRY_BAD_MANIFEST')).message,
      ).toContain('layers is not a list');
      writeFileSync(layout.blobPath(digest), JSON.stringify({ layers: [{ size: 3 }] }));
      expect(
        (await expectCodeAsync(() => blobsNamedBy(layout, digest, { config: false }), 'REGISTRY_BAD_MANIFEST')).message,
      ).toContain('layers[0].digest is not a string');
    });

    it('a digest that is not sha256:<64 hex> is refused (it would name a path)', async () => {
      const { layout, digest } = await layoutWith(JSON.stringify({ layers: [{ digest: 'sha256:../../etc' }] }));
      await expectCodeAsync(() => blobsNamedBy(layout, digest, { config: false }), 'OCI_BAD_DIGEST');
    });
  });
});
