import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import {
  chooseSubnet,
  formatCidr,
  internalAddressing,
  overlaps,
  parseCidr,
  parseIpv4,
  parseProcRoutes,
  POOL,
} from '../../../src/engine/internal-net.js';
import { renderTemplate } from '../../../src/instance/render.js';
import { fc, params } from '../../helpers/fuzz.js';

const inside = (cidr: string, ip: string) => overlaps(parseCidr(cidr)!, { base: parseIpv4(ip), bits: 32 });

describe('CIDR arithmetic', () => {
  it('parses and masks IPv4 ranges; IPv6 and garbage are not ranges', () => {
    expect(formatCidr(parseCidr('172.30.5.77/26')!)).toBe('172.30.5.64/26');
    expect(parseCidr('fd00::/64')).toBeUndefined();
    expect(parseCidr('10.0.0.256/8')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(overlaps(parseCidr('10.0.0.0/8')!, parseCidr('10.200.1.0/24')!)).toBe(true);
    expect(overlaps(parseCidr('172.30.0.0/26')!, parseCidr('172.30.0.64/26')!)).toBe(false);
  });
});

describe('chooseSubnet', () => {
  const cidr = fc
    .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 8, max: 32 }))
    .map(([b, n]) => formatCidr({ base: b >>> 0, bits: n }));
  const nearPool = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 16, max: 30 }))
    .map(([x, y, n]) => formatCidr({ base: parseIpv4(`10.203.${x}.${y}`), bits: n }));

  it('never picks a block that overlaps a network or route in use, and stays in the pool', () =>
    fc.assert(
      fc.property(fc.array(fc.oneof(cidr, nearPool), { maxLength: 40 }), fc.string(), (used, seed) => {
        const s = chooseSubnet(used, seed);
        if (s === undefined) return;
        const c = parseCidr(s)!;
        expect(c.bits).toBe(26);
        expect(overlaps(c, parseCidr(POOL)!)).toBe(true);
        for (const u of used) expect(overlaps(c, parseCidr(u)!), `${s} overlaps ${u}`).toBe(false);
      }),
      params(),
    ));

  it("keeps the instance's block while it is free, and moves when something else took it", () => {
    const first = chooseSubnet([], 'rekor-airgap-a')!;
    expect(chooseSubnet(['172.17.0.0/16'], 'rekor-airgap-a', first)).toBe(first);
    const moved = chooseSubnet([first], 'rekor-airgap-a', first)!;
    expect(moved).not.toBe(first);
    expect(overlaps(parseCidr(moved)!, parseCidr(first)!)).toBe(false);
  });

  it('is the same for the same project, and spreads projects over the pool', () => {
    expect(chooseSubnet([], 'rekor-airgap-x')).toBe(chooseSubnet([], 'rekor-airgap-x'));
    const picks = new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((p) => chooseSubnet([], `rekor-airgap-${p}`)));
    expect(picks.size).toBeGreaterThan(3);
  });

  it('says so when the whole pool is taken', () => {
    expect(chooseSubnet([POOL], 'p')).toBeUndefined();
    expect(chooseSubnet(['10.0.0.0/8'], 'p')).toBeUndefined();
  });
});

describe('internalAddressing', () => {
  it('gives each service an address in the block, outside the range the engine hands out', () => {
    const a = internalAddressing('172.30.7.0/26', ['mariadb', 'trillian-log-server', 'rekor'], 'docker');
    expect(a.addr).toEqual({ mariadb: '172.30.7.48', trillian_log_server: '172.30.7.49', rekor: '172.30.7.50' });
    expect(JSON.parse(a.extra_hosts)).toEqual([
      'mariadb:172.30.7.48',
      'trillian-log-server:172.30.7.49',
      'rekor:172.30.7.50',
    ]);
    const ipam = JSON.parse(a.ipam) as { config: Array<{ subnet: string; ip_range: string }> };
    expect(ipam.config[0]!.subnet).toBe('172.30.7.0/26');
    for (const ip of Object.values(a.addr)) {
      expect(inside('172.30.7.0/26', ip)).toBe(true);
      expect(inside(ipam.config[0]!.ip_range, ip)).toBe(false);
    }
  });

  it('writes the IPAM Podman 4.3 reports back (host-local, no ip_range), which docker-compose v1 compares', () => {
    const ipam = JSON.parse(internalAddressing('172.30.7.64/26', ['db'], 'podman').ipam) as Record<string, unknown>;
    expect(ipam).toEqual({ options: { driver: 'host-local' }, config: [{ subnet: '172.30.7.64/26' }] });
  });

  it('renders into compose YAML that parses to the same values', () => {
    const a = internalAddressing('172.30.9.128/26', ['mariadb', 'trillian-log-server'], 'docker');
    const text = renderTemplate(
      'networks:\n  backend:\n    ipam: {{ internal.ipam }}\nservices:\n  x:\n    networks:\n      backend:\n        ipv4_address: {{ internal.addr.trillian_log_server }}\n    extra_hosts: {{ internal.extra_hosts }}\n',
      { internal: { ...a } },
      't',
    );
    const y = yaml.load(text) as {
      networks: { backend: { ipam: unknown } };
      services: { x: { extra_hosts: string[]; networks: { backend: { ipv4_address: string } } } };
    };
    expect(y.networks.backend.ipam).toEqual(JSON.parse(a.ipam));
    expect(y.services.x.extra_hosts).toEqual(['mariadb:172.30.9.176', 'trillian-log-server:172.30.9.177']);
    expect(y.services.x.networks.backend.ipv4_address).toBe('172.30.9.177');
  });

  it('refuses a block that is not a /26', () => {
    expect(() => internalAddressing('172.30.0.0/24', ['a'], 'docker')).toThrow(/not a \/26/);
  });
});

describe('parseProcRoutes', () => {
  it('reads destinations and masks, leaving out the default route', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'br1\t40071EAC\t00000000\t0001\t0\t0\t0\tC0FFFFFF\t0\t0\t0',
    ].join('\n');
    expect(parseProcRoutes(text)).toEqual(['172.17.0.0/16', '192.0.2.0/24', '172.30.7.64/26']);
  });

  it('any text: a list of ranges, never a throw', () =>
    fc.assert(
      fc.property(fc.string(), (t) => {
        for (const r of parseProcRoutes(t)) expect(parseCidr(r)).toBeDefined();
      }),
      params(),
    ));
});
