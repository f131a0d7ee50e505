import net from 'node:net';

/** A range of addresses Herald never connects to unless an operator allows it, and why. */
interface ForbiddenRange {
  readonly cidr: string;
  readonly what: string;
}

// Loopback, private, link-local (where cloud metadata services answer), shared (CGNAT), unique
// local, multicast, unspecified and reserved addresses: none of them is a vendor or a webhook on
// the internet, and all of them can reach what only the host or its network should.
const RANGES: readonly ForbiddenRange[] = [
  { cidr: '0.0.0.0/8', what: 'an unspecified address' },
  { cidr: '10.0.0.0/8', what: 'a private address' },
  { cidr: '100.64.0.0/10', what: 'a shared (carrier-grade NAT) address' },
  { cidr: '127.0.0.0/8', what: 'a loopback address' },
  { cidr: '169.254.0.0/16', what: 'a link-local address (cloud metadata services answer there)' },
  { cidr: '172.16.0.0/12', what: 'a private address' },
  { cidr: '192.0.0.0/24', what: 'a reserved protocol address' },
  { cidr: '192.168.0.0/16', what: 'a private address' },
  { cidr: '198.18.0.0/15', what: 'a benchmarking address' },
  { cidr: '224.0.0.0/4', what: 'a multicast address' },
  { cidr: '240.0.0.0/4', what: 'a reserved address' },
  { cidr: '::/128', what: 'an unspecified address' },
  { cidr: '::1/128', what: 'a loopback address' },
  { cidr: '::/96', what: 'an IPv4-compatible address' },
  { cidr: '::ffff:0:0/96', what: 'an IPv4-mapped address' },
  { cidr: '64:ff9b::/96', what: 'a NAT64 address' },
  { cidr: 'fc00::/7', what: 'a unique local address' },
  { cidr: 'fe80::/10', what: 'a link-local address' },
  { cidr: 'ff00::/8', what: 'a multicast address' },
];

const lists = RANGES.map((range) => {
  const [address, prefix] = range.cidr.split('/') as [string, string];
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  const list = new net.BlockList();
  list.addSubnet(address, Number(prefix), family);
  return { ...range, family, list };
});

/**
 * Why Herald does not connect to `address` (an IP literal), or undefined when it is a public one.
 *
 * @example
 * forbiddenRangeOf('169.254.169.254') // "a link-local address (…) in 169.254.0.0/16"
 */
export function forbiddenRangeOf(address: string): string | undefined {
  const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
  if (!family) return undefined;
  const hit = lists.find((range) => range.family === family && range.list.check(address, family));
  return hit && `${hit.what} in ${hit.cidr}`;
}
