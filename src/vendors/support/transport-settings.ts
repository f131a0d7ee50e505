import { Type } from '@sinclair/typebox';

/** An http(s) URL setting; `real` is the vendor's production API, so only tests and proxies change it. */
export function urlSetting(real?: string, description = "The vendor's API base URL") {
  return Type.String({
    pattern: '^https?://[^\\s]+$',
    maxLength: 2000,
    description,
    ...(real !== undefined && { default: real }),
  });
}

/** The settings every REST vendor has: how long a request may take and how fast to send. */
export const transportSettings = {
  timeoutMs: Type.Integer({
    minimum: 1,
    maximum: 120_000,
    default: 10_000,
    description: 'How long one request to the vendor may take, in milliseconds',
  }),
  rateLimitPerSecond: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 10_000,
      description: 'At most this many messages a second through this vendor (per Herald process)',
    }),
  ),
};

/** A base URL without its trailing slashes, ready for `${base}/path`. */
export const trimmedBase = (url: string): string => url.replace(/\/+$/, '');
