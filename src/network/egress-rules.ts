import net from 'node:net';

/**
 * What an operator lets Herald reach beyond the public internet (HERALD_EGRESS_ALLOW and
 * HERALD_EGRESS_ALLOW_PORTS): plain data, so it crosses into worker threads as it is.
 */
export interface EgressRules {
  /** Address ranges Herald may connect to although they are not public: `[address, prefix]`. */
  readonly subnets: readonly (readonly [string, number])[];
  /** Host names (lower case; `*.example.com` for every name under it) reached whatever they resolve to. */
  readonly hosts: readonly string[];
  /** Ports beyond the standard ones: `[first, last]`. */
  readonly ports: readonly (readonly [number, number])[];
}

/** No exceptions: public addresses on standard ports only. */
export const publicOnly: EgressRules = Object.freeze({ subnets: [], hosts: [], ports: [] });

const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Reads HERALD_EGRESS_ALLOW: CIDRs, single addresses and host names, comma-separated.
 *
 * @example
 * parseEgressAllow('10.20.0.0/16, smtp.internal, *.corp.example') // subnets 10.20.0.0/16; two names
 */
export function parseEgressAllow(value: string): { subnets: [string, number][]; hosts: string[]; problems: string[] } {
  const subnets: [string, number][] = [];
  const hosts: string[] = [];
  const problems: string[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean)) {
    const [address, prefixText, extra] = entry.replace(/^\[|\]$/g, '').split('/');
    const family = net.isIP(address ?? '');
    if (family !== 0 && extra === undefined) {
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (Number.isInteger(prefix) && prefix >= 0 && prefix <= max && prefixText !== '')
        subnets.push([address!, prefix]);
      else problems.push(`"${entry}" has a prefix length that is not 0 to ${max}`);
    } else if (HOST_NAME.test(entry) && entry.length <= 253) {
      hosts.push(entry);
    } else {
      problems.push(`"${entry}" is neither an address range (10.0.0.0/8, fd00::/8) nor a host name`);
    }
  }
  return { subnets, hosts, problems };
}

/**
 * Reads HERALD_EGRESS_ALLOW_PORTS: ports and ranges, comma-separated.
 *
 * @example
 * parseEgressPorts('8080, 2525-2530') // { ports: [[8080, 8080], [2525, 2530]], problems: [] }
 */
export function parseEgressPorts(value: string): { ports: [number, number][]; problems: string[] } {
  const ports: [number, number][] = [];
  const problems: string[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(entry);
    const first = Number(match?.[1]);
    const last = Number(match?.[2] ?? match?.[1]);
    if (match && first >= 1 && last <= 65535 && first <= last) ports.push([first, last]);
    else problems.push(`"${entry}" is not a port (1-65535) or a range of them (2525-2530)`);
  }
  return { ports, problems };
}

/** The rules of HERALD_EGRESS_ALLOW and HERALD_EGRESS_ALLOW_PORTS (already checked: problems are dropped). */
export function egressRules(allow: string, ports: string): EgressRules {
  const { subnets, hosts } = parseEgressAllow(allow);
  return Object.freeze({ subnets, hosts, ports: parseEgressPorts(ports).ports });
}

/** `rules` that also let connections reach `address` on `port` (the demo's own mail catcher). */
export function allowingAlso(rules: EgressRules, address: string, port: number): EgressRules {
  return Object.freeze({
    subnets: [...rules.subnets, [address, net.isIPv6(address) ? 128 : 32] as const],
    hosts: rules.hosts,
    ports: [...rules.ports, [port, port] as const],
  });
}
