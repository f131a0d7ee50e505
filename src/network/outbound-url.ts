import { invalidField } from '../errors.js';
import { EgressGuard } from './egress-guard.js';
import type { EgressRules } from './egress-rules.js';

/**
 * An http(s) URL Herald will post to, checked as it is saved: absolute, http or https, and not an
 * address or port the egress guard refuses (a 400 naming the rule). Names are checked again at
 * every connection.
 *
 * @example
 * checkOutboundUrl('url', 'http://169.254.169.254/latest', rules)
 * // throws: "url 169.254.169.254 is a link-local address … unless HERALD_EGRESS_ALLOW allows it"
 */
export function checkOutboundUrl(field: string, value: string, egress: EgressRules): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalidField(field, 'is not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw invalidField(field, `must be http:// or https:// (got ${parsed.protocol})`);
  const refusal = EgressGuard.of(egress).refusalOfUrl(parsed);
  if (refusal) throw invalidField(field, `is refused: ${refusal}`);
  return parsed.toString();
}
