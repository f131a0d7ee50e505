import { egressRules } from '../../src/network/egress-rules.js';

/**
 * Tests talk to vendors, SMTP servers and webhook endpoints on loopback, on any port: the operator
 * allowlist a test installation needs (production refuses both by default).
 */
export const LOOPBACK_EGRESS_ENV = { HERALD_EGRESS_ALLOW: '127.0.0.0/8,::1', HERALD_EGRESS_ALLOW_PORTS: '1-65535' };

/** The same allowlist, as the rules a vendor is built with. */
export const loopbackEgress = egressRules(
  LOOPBACK_EGRESS_ENV.HERALD_EGRESS_ALLOW,
  LOOPBACK_EGRESS_ENV.HERALD_EGRESS_ALLOW_PORTS,
);
