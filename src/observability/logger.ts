import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Credentials and personal data never reach a log line. Request bodies are not logged at all;
 * these paths catch what might still carry them.
 */
const redact = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-api-key"]',
    'password',
    '*.password',
    'apiKey',
    '*.apiKey',
    'accessToken',
    '*.accessToken',
    'email',
    '*.email',
    'mobile',
    '*.mobile',
  ],
  censor: '[redacted]',
};

/** Drops query-string values, which may carry personal data (e.g. GET /api/dispatchSingle). */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const keys = new URLSearchParams(url.slice(q + 1)).keys();
  return `${url.slice(0, q)}?${[...keys].map((k) => `${encodeURIComponent(k)}=[redacted]`).join('&')}`;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact,
    base: { service: 'herald' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactQuery(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

export function createLogger(level: string): Logger {
  return pino(loggerOptions(level));
}
