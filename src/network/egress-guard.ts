import dns from 'node:dns';
import net from 'node:net';
import { forbiddenRangeOf } from './address-ranges.js';
import type { EgressRules } from './egress-rules.js';

/** What a connection is for: the ports open without an operator's say differ. */
export type EgressPurpose = 'http' | 'smtp';

const STANDARD_PORTS: Record<EgressPurpose, readonly number[]> = {
  http: [80, 443],
  smtp: [25, 465, 587],
};

/** The code of the error a refused connection fails with. */
export const EGRESS_REFUSED = 'EGRESS_REFUSED';

/** A connection Herald will not make; its message names the rule and how an operator lifts it. */
export class EgressRefusedError extends Error {
  readonly code = EGRESS_REFUSED;

  constructor(message: string) {
    super(message);
    this.name = 'EgressRefusedError';
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

const UNLESS_ALLOWED = ': Herald does not connect there unless HERALD_EGRESS_ALLOW allows it';

const guards = new WeakMap<EgressRules, EgressGuard>();

/**
 * The one gate of every outbound connection (vendors, SMTP servers, webhooks, campaign
 * reporters). A destination is checked twice: its host and port when it is saved and before each
 * request (an address written literally never reaches a DNS lookup), and every address a name
 * resolves to at each connection, through `lookup` — the socket then connects to the address that
 * was checked, so a name that changes its answer between the two (DNS rebinding) gains nothing.
 */
export class EgressGuard {
  readonly #allowed = new net.BlockList();
  readonly #hosts: readonly string[];

  private constructor(private readonly rules: EgressRules) {
    for (const [address, prefix] of rules.subnets)
      this.#allowed.addSubnet(address, prefix, net.isIPv6(address) ? 'ipv6' : 'ipv4');
    this.#hosts = rules.hosts;
  }

  /** The guard for these rules (one a rule set: rules come from configuration, parsed once). */
  static of(rules: EgressRules): EgressGuard {
    let guard = guards.get(rules);
    if (!guard) guards.set(rules, (guard = new EgressGuard(rules)));
    return guard;
  }

  /**
   * Why Herald will not connect to `host` on `port`, or undefined when it may try: a port that is
   * not standard for the purpose, or a host written as an address that is not public. A name is
   * only judged by what it resolves to, at each connection.
   *
   * @example
   * guard.refusalOf('169.254.169.254', 80, 'http')
   * // "169.254.169.254 is a link-local address (…) in 169.254.0.0/16: Herald does not connect there unless HERALD_EGRESS_ALLOW allows it"
   */
  refusalOf(host: string, port: number, purpose: EgressPurpose): string | undefined {
    if (!this.#portAllowed(port, purpose))
      return `port ${port} is not a standard ${purpose === 'http' ? 'HTTP (80, 443)' : 'SMTP (25, 465, 587)'} port: Herald does not connect to it unless HERALD_EGRESS_ALLOW_PORTS allows it`;
    const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (net.isIP(bare) === 0 || this.#hostAllowed(bare)) return undefined;
    const range = this.#forbiddenRange(bare);
    return range && `${bare} is ${range}${UNLESS_ALLOWED}`;
  }

  /** `refusalOf` for a URL: its host and its port (or the scheme's). */
  refusalOfUrl(url: URL): string | undefined {
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return this.refusalOf(url.hostname, port, 'http');
  }

  /**
   * A `lookup` for `net.connect`, `http.request` and TLS: resolves the name and keeps only the
   * addresses Herald may reach, failing with EgressRefusedError when none is left.
   */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const allowed = this.#hostAllowed(hostname.toLowerCase())
        ? addresses
        : addresses.filter((a) => this.#forbiddenRange(a.address) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0]?.address ?? 'no address';
        const range = this.#forbiddenRange(first) ?? 'not allowed';
        return callback(new EgressRefusedError(`${hostname} resolves to ${first}, ${range}${UNLESS_ALLOWED}`), '');
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };

  /** The forbidden range `address` is in, unless the operator allowed it. */
  #forbiddenRange(address: string): string | undefined {
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (this.#allowed.check(address, family)) return undefined;
    return forbiddenRangeOf(address);
  }

  #hostAllowed(host: string): boolean {
    return this.#hosts.some((allowed) =>
      allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) : host === allowed,
    );
  }

  #portAllowed(port: number, purpose: EgressPurpose): boolean {
    return (
      STANDARD_PORTS[purpose].includes(port) || this.rules.ports.some(([first, last]) => port >= first && port <= last)
    );
  }
}
