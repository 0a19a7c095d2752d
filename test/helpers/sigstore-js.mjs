// sigstore-js against the installed log, run inside the air-gapped namespace by the e2e tests:
//   node sigstore-js.mjs verify BUNDLE ARTIFACT TRUSTED_ROOT KEY.pub THRESHOLDS_JSON
//   node sigstore-js.mjs sign URL ARTIFACT          (key-signed, Rekor v2 API; NODE_EXTRA_CA_CERTS for TLS)
// Prints one JSON line: { ok, code?, message? }.
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const [mode, ...a] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));
try {
  if (mode === 'verify') {
    const [bundleFile, artifact, rootFile, keyFile, thresholds] = a;
    const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(rootFile, 'utf8')));
    const key = { publicKey: createPublicKey(readFileSync(keyFile)), validFor: () => true };
    const verifier = new Verifier(
      toTrustMaterial(root, () => key),
      JSON.parse(thresholds),
    );
    verifier.verify(
      toSignedEntity(bundleFromJSON(JSON.parse(readFileSync(bundleFile, 'utf8'))), readFileSync(artifact)),
    );
    out({ ok: true });
  } else if (mode === 'sign') {
    const [url, artifact] = a;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const signer = {
      sign: async (data) => ({
        signature: sign('sha256', data, privateKey),
        key: { $case: 'publicKey', publicKey: pem },
      }),
    };
    const builder = new MessageSignatureBundleBuilder({
      signer,
      witnesses: [new RekorWitness({ rekorBaseURL: url, majorApiVersion: 2 })],
    });
    await builder.create({ data: readFileSync(artifact), type: 'text/plain' });
    out({ ok: true });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  out({ ok: false, code: e.code ?? e.constructor?.name, message: e.message });
}
