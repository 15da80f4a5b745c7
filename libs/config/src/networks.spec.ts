import { DEFAULT_INTERNAL_NETWORKS, networkList, networkListProblem } from './networks';

describe('network lists (INTERNAL_NETWORKS)', () => {
  it('by default holds loopback and the private ranges, in both address families, and nothing else', () => {
    const internal = networkList(DEFAULT_INTERNAL_NETWORKS);
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', 'fd12::1', 'fc00::9'])
      expect([a, internal.includes(a)]).toEqual([a, true]);
    for (const a of ['8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '11.0.0.1', '2001:db8::1', 'fe80::1', '::', undefined, 'x'])
      expect([a, internal.includes(a)]).toEqual([a, false]);
  });

  it('matches the IPv4-mapped form a dual-stack socket reports', () => {
    const internal = networkList('10.0.0.0/8');
    expect(internal.includes('::ffff:10.9.9.9')).toBe(true);
    expect(internal.includes('::ffff:11.9.9.9')).toBe(false);
  });

  it('takes single addresses and CIDRs, and names what is neither', () => {
    const list = networkList(' 192.0.2.10 , 2001:db8::/32 ');
    expect([list.includes('192.0.2.10'), list.includes('192.0.2.11'), list.includes('2001:db8:1::5')]).toEqual([true, false, true]);
    expect(networkListProblem('10.0.0.0/33')).toMatch(/10\.0\.0\.0\/33/);
    expect(networkListProblem('::/129')).toMatch(/prefix/);
    expect(networkListProblem('intranet')).toMatch(/intranet is not an address or CIDR/);
    expect(networkListProblem('10.0.0.0/8/1')).toMatch(/not an address or CIDR/);
    expect(networkListProblem(',')).toMatch(/no address/);
    expect(networkListProblem(DEFAULT_INTERNAL_NETWORKS)).toBeNull();
  });
});
