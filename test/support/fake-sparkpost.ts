import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recipient of a transmission as SparkPost's Transmissions API takes it. */
export interface FakeRecipient {
  address: { email: string; name?: string };
  substitution_data: Record<string, string>;
  metadata: Record<string, string>;
}

/** The parts of a transmission request the fake reads (others are kept as sent). */
export interface TransmissionBody {
  options: { open_tracking: boolean; click_tracking: boolean; transactional: boolean };
  campaign_id?: string;
  recipients: FakeRecipient[];
  content: {
    from: { email: string; name?: string };
    subject: string;
    html?: string;
    text: string;
    headers: Record<string, string>;
  };
}

/** A request the fake received, and what it answered. */
export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: TransmissionBody;
  status: number;
  /** The transmission id, when it was accepted. */
  id?: string;
  at: number;
}

/** An answer the test wants the fake to give. */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One message as SparkPost would generate it for one recipient. */
export interface GeneratedMessage {
  transmissionId: string;
  to: string;
  messageId: string;
  from: { email: string; name?: string };
  subject: string;
  html?: string;
  text: string;
  headers: Record<string, string>;
}

export interface FakeSparkPost {
  /** The base URL to configure as the vendor's `baseUrl`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Every request, in arrival order. */
  readonly requests: FakeRequest[];
  /** Problems with requests' shape or authentication; a correct client leaves it empty. */
  readonly problems: string[];
  /** The next requests get these answers, in order; after them, success. */
  answerNext(...answers: FakeAnswer[]): void;
  /** Answers every request with this one until it is cleared with undefined. */
  answerAlways(answer: FakeAnswer | undefined): void;
  /** The transmissions SparkPost accepted. */
  accepted(): FakeRequest[];
  /** What each recipient of the accepted transmissions would receive, rendered with their substitution data. */
  generated(): GeneratedMessage[];
  close(): Promise<void>;
}

/** SparkPost's template language for what Herald uses: `{{{key}}}` as is, `{{key}}` HTML-escaped. */
function render(template: string, data: Record<string, string>): string {
  const escape = (value: string) =>
    value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  // One pass: inserted values are never read as template.
  return template.replace(/\{\{\{\s*(\w+)\s*\}\}\}|\{\{\s*(\w+)\s*\}\}/g, (_, raw?: string, escaped?: string) =>
    raw !== undefined ? (data[raw] ?? '') : escape(data[escaped!] ?? ''),
  );
}

/** What is wrong with a transmission request; empty when it follows the documented shape. */
function shapeProblems(body: unknown): string[] {
  const problems: string[] = [];
  const b = body as Partial<TransmissionBody> | undefined;
  if (!b || typeof b !== 'object') return ['the body is not a JSON object'];
  for (const option of ['open_tracking', 'click_tracking', 'transactional'] as const)
    if (typeof b.options?.[option] !== 'boolean') problems.push(`options.${option} is not a boolean`);
  if (!Array.isArray(b.recipients) || b.recipients.length === 0) problems.push('recipients is empty');
  for (const [i, r] of (b.recipients ?? []).entries()) {
    if (typeof r.address?.email !== 'string') problems.push(`recipients[${i}].address.email is missing`);
    if (typeof r.substitution_data !== 'object') problems.push(`recipients[${i}].substitution_data is missing`);
    if (typeof r.metadata?.herald_message_id !== 'string')
      problems.push(`recipients[${i}].metadata.herald_message_id is missing`);
  }
  const c = b.content;
  if (typeof c?.from?.email !== 'string') problems.push('content.from.email is missing');
  if (typeof c?.subject !== 'string') problems.push('content.subject is missing');
  if (typeof c?.text !== 'string' && typeof c?.html !== 'string') problems.push('content has neither text nor html');
  if (c?.headers !== undefined && typeof c.headers !== 'object') problems.push('content.headers is not an object');
  return problems;
}

/**
 * A loopback server speaking SparkPost's Transmissions API (`POST /api/v1/transmissions`,
 * `Authorization: <API key>`): it checks each request's shape and key, answers success with
 * `{"results": {total_rejected_recipients, total_accepted_recipients, id}}` unless told otherwise,
 * and keeps every request.
 */
export async function startFakeSparkPost(apiKey = 'sp-test-key-0123456789'): Promise<FakeSparkPost> {
  const requests: FakeRequest[] = [];
  const problems: string[] = [];
  const queued: FakeAnswer[] = [];
  let always: FakeAnswer | undefined;
  let nextId = 7_000_000_000;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const request: FakeRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: body as TransmissionBody,
        status: 0,
        at: Date.now(),
      };
      requests.push(request);
      const refuse = (status: number, problem: string, errors: unknown[]) => {
        problems.push(problem);
        request.status = status;
        answer(status, { errors });
      };
      if (request.method !== 'POST' || request.path !== '/api/v1/transmissions')
        return refuse(404, `${request.method} ${request.path}`, [{ message: 'invalid URI', code: '1101' }]);
      if (req.headers.authorization !== apiKey)
        return refuse(401, `authorization ${req.headers.authorization}`, [{ message: 'Unauthorized.' }]);
      if (!req.headers['content-type']?.startsWith('application/json'))
        return refuse(415, `content-type ${req.headers['content-type']}`, [
          { message: 'Unsupported Content-Type header', code: '1700' },
        ]);
      const wrong = shapeProblems(body);
      if (wrong.length > 0)
        return refuse(
          422,
          wrong.join('; '),
          wrong.map((description) => ({ message: 'Required field is missing', description, code: '1400' })),
        );

      const planned = queued.shift() ?? always;
      if (planned) {
        request.status = planned.status;
        if (planned.status >= 200 && planned.status < 300) {
          const results = (planned.body as { results?: { id?: string } } | undefined)?.results;
          request.id = results?.id;
        }
        return answer(planned.status, planned.body ?? {}, planned.headers);
      }
      const id = String(nextId++);
      request.status = 200;
      request.id = id;
      const count = request.body.recipients.length;
      answer(200, { results: { total_rejected_recipients: 0, total_accepted_recipients: count, id } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const accepted = () => requests.filter((r) => r.status === 200 && r.id !== undefined);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    problems,
    answerNext: (...answers) => queued.push(...answers),
    answerAlways: (answer) => {
      always = answer;
    },
    accepted,
    generated: () =>
      accepted().flatMap((r) =>
        r.body.recipients.map((recipient) => {
          const data = recipient.substitution_data;
          const { content } = r.body;
          return {
            transmissionId: r.id!,
            to: recipient.address.email,
            messageId: recipient.metadata.herald_message_id!,
            from: content.from,
            subject: render(content.subject, data),
            ...(content.html !== undefined && { html: render(content.html, data) }),
            text: render(content.text, data),
            headers: Object.fromEntries(Object.entries(content.headers).map(([k, v]) => [k, render(v, data)])),
          };
        }),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
