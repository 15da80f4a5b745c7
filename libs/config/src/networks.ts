import { BlockList, isIP } from 'net';

/** Loopback and the private ranges: who may read `/metrics` and `/health` details unless INTERNAL_NETWORKS says otherwise. */
export const DEFAULT_INTERNAL_NETWORKS = '127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

/**
 * A comma-separated list of addresses and CIDRs (`10.0.0.0/8`, `::1`, `fd00::/8`) as a set of
 * networks; throws naming the first entry that is neither. IPv4 entries also match the IPv4-mapped
 * IPv6 form (`::ffff:10.1.2.3`) a dual-stack socket reports.
 */
export function networkList(spec: string): NetworkList {
  const list = new BlockList();
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!entries.length) throw new Error('no address or CIDR given');
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (!family || rest.length) throw new Error(`${entry} is not an address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) throw new Error(`${entry} has no valid prefix length`);
    list.addSubnet(address, bits, type);
  }
  return new NetworkList(list);
}

export class NetworkList {
  constructor(private readonly list: BlockList) {}

  /** Whether `address` (as a socket or `req.ip` gives it) is in one of the networks; no address: no. */
  includes(address: string | undefined): boolean {
    if (!address) return false;
    const family = isIP(address);
    if (!family) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The problem with a network list, or null when every entry is an address or CIDR. */
export function networkListProblem(spec: unknown): string | null {
  if (typeof spec !== 'string') return 'must be a comma-separated list of addresses or CIDRs';
  try {
    networkList(spec);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
