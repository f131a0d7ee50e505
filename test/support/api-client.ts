/** Herald's one error shape. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

/** A request's answer: its text kept (to search it for what must not appear), its body parsed when JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever shape the route answers
export interface Answer<T = Record<string, any>> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface RequestOptions {
  method?: string;
  /** An API key or access token, sent as `Authorization: Bearer …`. */
  token?: string;
  /** A body sent as JSON. */
  json?: unknown;
  /** A body sent as it is, as JSON unless a content-type header says otherwise (malformed bodies). */
  raw?: string;
  /** Any other body (a multipart form, a stream). */
  body?: RequestInit['body'];
  headers?: RequestInit['headers'];
  /** 'manual' to see a redirect rather than follow it. */
  redirect?: RequestInit['redirect'];
}

/** A running API: a test Herald, a CLI's, the bench's, or its base URL. */
export type ApiServer = { readonly url: string } | string;

const baseOf = (server: ApiServer) => (typeof server === 'string' ? server : server.url);

/** The one way tests call Herald's API: fetch() with the token and body set up; the raw response. */
export function fetchApi(server: ApiServer, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  let body = options.body;
  if (options.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.raw !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    body = options.raw;
  }
  return fetch(`${baseOf(server)}${path}`, {
    method: options.method ?? (body === undefined || body === null ? 'GET' : 'POST'),
    headers,
    body,
    redirect: options.redirect,
  });
}

/** fetchApi(), its answer read: status, headers, text and the body parsed when it is JSON. */
export async function apiRequest<T = unknown>(
  server: ApiServer,
  path: string,
  options: RequestOptions = {},
): Promise<Answer<T>> {
  const response = await fetchApi(server, path, options);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, text, body: body as T };
}

/** apiRequest() bound to one server and one caller's token. */
export function apiClient(server: ApiServer, token: string) {
  const call = <T>(method: string, path: string, json?: unknown) =>
    apiRequest<T>(server, path, { method, token, json });
  return {
    get: <T = Answer['body']>(path: string) => call<T>('GET', path),
    post: <T = Answer['body']>(path: string, json: unknown = {}) => call<T>('POST', path, json),
    put: <T = Answer['body']>(path: string, json?: unknown) => call<T>('PUT', path, json),
    patch: <T = Answer['body']>(path: string, json?: unknown) => call<T>('PATCH', path, json),
    delete: <T = Answer['body']>(path: string) => call<T>('DELETE', path),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
