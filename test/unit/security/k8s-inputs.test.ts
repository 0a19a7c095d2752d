/**
 * `k8s values` writes what an operator types into YAML, into the comments above it and into the
 * shell commands it shows: every name is checked against what it names, no input can end a
 * comment line, and --out is written through no link.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/app.js';
import { bufferIo } from '../../../src/cli/output.js';
import { serializeManifest, type BundleManifest } from '../../../src/bundle/manifest.js';
import { signDetached } from '../../../src/bundle/sign-detached.js';
import { AirgapError, ExitCode } from '../../../src/errors.js';
import {
  chartValues,
  checkValuesNames,
  commentLines,
  valuesFileText,
  type ValuesInput,
} from '../../../src/k8s/chart-values.js';
import { expectCode } from '../../helpers/expect-code.js';
import { tempDir } from '../../helpers/fixtures.js';
import { fc, params } from '../../helpers/fuzz.js';
import { testKey } from '../../helpers/synthetic-bundle.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const IMAGES = { rekor: { ref: 'ghcr.io/sigstore/rekor-tiles/posix:v2.4.2', manifestDigest: D('a') } };
const GOOD = {
  kind: 'rekor-v2',
  registry: 'harbor.site.internal:8443',
  prefix: 'sigstore-airgap',
  origin: 'rekor.site.internal',
  namespace: 'rekor',
  pullSecret: 'harbor-creds',
  images: IMAGES,
};
/** The top-level keys of rekor-tiles values: nothing else may appear in the file. */
const TOP_KEYS = ['image', 'imagePullSecrets', 'namespace', 'nodeSelector', 'server'];
/** Line breaks of YAML 1.2 (CR, LF) and of YAML 1.1 readers (NEL, LS, PS; go-yaml, PyYAML). */
const ANY_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/;
const INJECTED = 'extraVolumes: [{name: root, hostPath: {path: /}}]';

/** The header lines, as a reader that breaks lines at any YAML line break sees them. */
function headerLines(text: string): string[] {
  const body = yaml.dump(yaml.load(text), { lineWidth: 200, noRefs: true });
  expect(text.endsWith(body)).toBe(true);
  return text
    .slice(0, text.length - body.length)
    .split(ANY_BREAK)
    .slice(0, -1);
}

describe('k8s values: each name is checked against what it names (exit 2, naming the option)', () => {
  it.each([
    ['--registry', { registry: `harbor.site\r${INJECTED}` }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: 'harbor.site\nx: 1' }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: 'harbor.site/project' }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: 'harbor.site:0' }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: 'harbor.site:70000' }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: '$(id)' }, 'USAGE_BAD_REGISTRY'],
    ['--registry', { registry: '' }, 'USAGE_BAD_REGISTRY'],
    ['--prefix', { prefix: `p\r${INJECTED}` }, 'USAGE_BAD_REGISTRY'],
    ['--prefix', { prefix: '../../etc' }, 'USAGE_BAD_REGISTRY'],
    ['--namespace', { namespace: '$(id)' }, 'USAGE_BAD_K8S_NAME'],
    ['--namespace', { namespace: '../../etc' }, 'USAGE_BAD_K8S_NAME'],
    ['--namespace', { namespace: 'Rekor' }, 'USAGE_BAD_K8S_NAME'],
    ['--namespace', { namespace: 'a.b' }, 'USAGE_BAD_K8S_NAME'],
    ['--namespace', { namespace: 'x'.repeat(64) }, 'USAGE_BAD_K8S_NAME'],
    ['--namespace', { namespace: '' }, 'USAGE_BAD_K8S_NAME'],
    ['--pull-secret', { pullSecret: '$(id)' }, 'USAGE_BAD_K8S_NAME'],
    ['--pull-secret', { pullSecret: '../../etc' }, 'USAGE_BAD_K8S_NAME'],
    ['--pull-secret', { pullSecret: 'a b' }, 'USAGE_BAD_K8S_NAME'],
    ['--origin', { origin: '$(id)' }, 'USAGE_BAD_ORIGIN'],
    ['--origin', { origin: '../../etc' }, 'USAGE_BAD_ORIGIN'],
    ['--origin', { origin: 'rekor.site\r# x' }, 'USAGE_BAD_ORIGIN'],
    ['--origin', { origin: 'rekor.site:443' }, 'USAGE_BAD_ORIGIN'],
  ] as const)('%s %j is refused', (option, bad, code) => {
    const e = expectCode(() => chartValues({ ...GOOD, ...bad }), code);
    expect(e.exitCode).toBe(ExitCode.USAGE);
    expect(e.message).toContain(`${option} `);
  });

  it.each([
    { registry: 'harbor.site.internal' },
    { registry: 'localhost:5000' },
    { registry: '10.0.0.7:5000' },
    { registry: '[fd00::7]:5000' },
    { registry: 'Harbor.Site' },
    { prefix: '' },
    { prefix: 'a/b-c/d_e' },
    { namespace: 'rekor-tiles-system' },
    { pullSecret: 'harbor.site-creds' },
    { origin: 'log2025-1.rekor.site.internal' },
  ])('%j is taken', (good) => {
    expect(chartValues({ ...GOOD, ...good }).chart).toBe('rekor-tiles');
  });

  it('what the checks let through never adds a key, and the header stays comments (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 24 });
    // Mostly near-valid names with one odd character somewhere, some arbitrary text.
    const name = fc.oneof(
      text,
      fc
        .tuple(
          fc.constantFrom('rekor', 'harbor.site', 'a-b', 'x'),
          fc.nat(8),
          fc.constantFrom(
            '\r',
            '\n',
            '\u0085',
            '\u2028',
            '\u2029',
            ':',
            '#',
            ' ',
            '$',
            '/',
            '.',
            '-',
            '[',
            ']',
            '"',
            "'",
            '{',
            '\t',
            '',
          ),
        )
        .map(([s, at, c]) => s.slice(0, at) + c + s.slice(at)),
    );
    fc.assert(
      fc.property(name, name, name, name, name, (registry, prefix, origin, namespace, pullSecret) => {
        const input: ValuesInput = {
          kind: 'rekor-v2',
          registry,
          prefix,
          origin,
          namespace,
          pullSecret,
          images: IMAGES,
        };
        let v;
        try {
          v = chartValues(input);
        } catch (e) {
          expect(e).toBeInstanceOf(AirgapError);
          expect(['USAGE_BAD_REGISTRY', 'USAGE_BAD_K8S_NAME', 'USAGE_BAD_ORIGIN']).toContain((e as AirgapError).code);
          return;
        }
        // Taken: plain names only.
        for (const s of [registry, prefix, origin, namespace, pullSecret]) expect(s).toMatch(/^[A-Za-z0-9._:/\-[\]]*$/);
        const file = valuesFileText(v, { profile: 'rekor-v2', registry, prefix });
        const doc = yaml.load(file) as Record<string, unknown>;
        expect(Object.keys(doc).sort()).toEqual(TOP_KEYS);
        expect(doc).toEqual(v.values);
        for (const l of headerLines(file)) expect(l).toMatch(/^(#.*)?$/);
      }),
      params(),
    );
  });
});

describe('k8s values: the header is comments whatever it quotes', () => {
  it('a carriage return or any other YAML line break in what the header quotes starts a new comment line, not a key', () => {
    const v = chartValues(GOOD);
    for (const br of ['\r', '\n', '\r\n', '\u0085', '\u2028', '\u2029']) {
      const file = valuesFileText(
        { ...v, commands: [...v.commands, `x${br}${INJECTED}`], notes: [...v.notes, `n${br}${INJECTED}`] },
        {
          profile: `p${br}${INJECTED}`,
          registry: `r${br}${INJECTED}`,
          prefix: `q${br}${INJECTED}`,
          chartRef: `c${br}${INJECTED}`,
        },
      );
      const doc = yaml.load(file) as Record<string, unknown>;
      expect(doc).not.toHaveProperty('extraVolumes');
      expect(doc).toEqual(v.values);
      for (const l of headerLines(file)) expect(l).toMatch(/^(#.*)?$/);
    }
  });

  it('comment lines: each line of any text behind "#", with what YAML cannot hold replaced (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (a, b) => {
          const v = chartValues(GOOD);
          const file = valuesFileText(
            { ...v, commands: [a], notes: [b] },
            { profile: a, registry: b, prefix: a, chartRef: b },
          );
          expect(yaml.load(file)).toEqual(v.values);
          for (const l of headerLines(file)) expect(l).toMatch(/^(#.*)?$/);
          for (const l of commentLines(a)) expect(l.startsWith('#')).toBe(true);
        },
      ),
      params(),
    );
  });
});

/** A signed bundle holding the rekor-v2 profile and its rekor image, as k8s values reads it. */
function k8sBundle(root: string) {
  const key = testKey(root, 'k');
  const dir = path.join(root, 'bundle');
  const profile = Buffer.from(
    'name: rekor-v2\nkind: rekor-v2\nimages:\n  - { name: rekor, ref: "ghcr.io/sigstore/rekor-tiles/posix:v2.4.2" }\ntemplates: []\nports: { https: 3443 }\n',
  );
  mkdirSync(path.join(dir, 'profiles'), { recursive: true });
  writeFileSync(path.join(dir, 'profiles', 'rekor-v2.yaml'), profile);
  const image = {
    name: 'rekor',
    ref: IMAGES.rekor.ref,
    digest: D('a'),
    manifestDigest: D('a'),
    layoutManifestDigest: D('a'),
    configDigest: D('b'),
    platform: 'linux/amd64',
    size: 1,
    source: 'ghcr.io/sigstore/rekor-tiles/posix',
    profiles: ['rekor-v2'],
  };
  const manifest: BundleManifest = {
    formatVersion: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    tool: { name: 'rekor-airgap', version: 'test' },
    platform: 'linux/amd64',
    profiles: ['rekor-v2'],
    images: [image],
    files: [
      {
        path: 'profiles/rekor-v2.yaml',
        size: profile.length,
        sha256: createHash('sha256').update(profile).digest('hex'),
      },
    ],
  };
  const text = serializeManifest(manifest);
  writeFileSync(path.join(dir, 'bundle.json'), text);
  writeFileSync(path.join(dir, 'bundle.json.sig'), signDetached(Buffer.from(text), key.privateKey));
  return { dir, pub: key.pubFile };
}

describe('k8s values, the command', () => {
  const values = async (b: { dir: string; pub: string }, extra: string[]) => {
    const io = bufferIo();
    const code = await runCli(
      [
        'k8s',
        'values',
        '--bundle',
        b.dir,
        '--trust',
        b.pub,
        '--registry',
        'harbor.site',
        '--prefix',
        'mirror',
        '--origin',
        'rekor.site',
        ...extra,
      ],
      io,
    );
    return { code, out: io.stdout(), err: io.stderr() };
  };

  it('the reported attack: a carriage return in --registry is exit 2 naming --registry, and nothing is written', async () => {
    const root = tempDir('k8s-');
    const b = k8sBundle(root);
    const out = path.join(root, 'values.yaml');
    const io = bufferIo();
    const code = await runCli(
      [
        'k8s',
        'values',
        '--bundle',
        b.dir,
        '--trust',
        b.pub,
        '--registry',
        `harbor.site\r${INJECTED}`,
        '--origin',
        'rekor.site',
        '--out',
        out,
      ],
      io,
    );
    expect(code).toBe(ExitCode.USAGE);
    expect(io.stderr()).toMatch(/error \[USAGE_BAD_REGISTRY\]: --registry /);
    expect(() => lstatSync(out)).toThrow();
    for (const [opt, bad, codeName] of [
      ['--namespace', '$(id)', 'USAGE_BAD_K8S_NAME'],
      ['--pull-secret', '../../etc', 'USAGE_BAD_K8S_NAME'],
      ['--origin', '$(id)', 'USAGE_BAD_ORIGIN'],
    ] as const) {
      const r = await values(b, [opt, bad, '--out', out]);
      expect(r.code, r.err).toBe(ExitCode.USAGE);
      expect(r.err).toContain(`error [${codeName}]: ${opt} `);
    }
    expect(() => lstatSync(out)).toThrow();
  });

  it('--out replaces a link planted there instead of writing through it', async () => {
    const root = tempDir('k8s-');
    const b = k8sBundle(root);
    const victim = path.join(root, 'victim');
    writeFileSync(victim, 'precious\n');
    const out = path.join(root, 'values.yaml');
    symlinkSync(victim, out);
    const r = await values(b, ['--namespace', 'rekor', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(out).isFile()).toBe(true);
    const doc = yaml.load(readFileSync(out, 'utf8')) as {
      image: { registry: string; repository: string };
      namespace: { name: string };
    };
    expect(Object.keys(doc).sort()).toEqual(TOP_KEYS.filter((k) => k !== 'imagePullSecrets'));
    expect(doc.image).toMatchObject({ registry: 'harbor.site', repository: 'mirror/sigstore/rekor-tiles' });
    expect(doc.namespace.name).toBe('rekor');
  });
});

describe('checkValuesNames alone', () => {
  it('checks only what is given', () => {
    checkValuesNames({ registry: 'r.example', prefix: '', origin: 'o.example' });
    expectCode(
      () => checkValuesNames({ registry: 'r.example', prefix: '', origin: 'o.example', namespace: 'A' }),
      'USAGE_BAD_K8S_NAME',
    );
  });
});
