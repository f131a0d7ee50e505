/**
 * The value at a path like `data.id`, `$.messages[0].id` or `messages.0.id` in a parsed JSON answer.
 *
 * @example
 * valueAtPath({ messages: [{ id: 'm1' }] }, 'messages[0].id') // 'm1'
 */
export function valueAtPath(document: unknown, path: string): unknown {
  const steps = path
    .replace(/^\$/, '')
    .split(/[.[\]]+/)
    .filter(Boolean);
  let current = document;
  for (const step of steps) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** Printable, without spaces, at most 200 characters: every vendor's message ids look so. */
const ID_SHAPE = /^[\x21-\x7e]{1,200}$/;

/**
 * The id at `path` in a vendor's JSON answer: a non-empty string, or a number as text; undefined
 * when the answer is not JSON or has none there.
 *
 * @example
 * idInAnswer('{"messages":[{"id":"wamid.X"}]}', 'messages[0].id') // 'wamid.X'
 */
export function idInAnswer(text: string, path: string): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  const id = valueAtPath(document, path);
  const found = (typeof id === 'string' && id) || (typeof id === 'number' && String(id)) || undefined;
  // An id is a short token: anything else at that place is not echoed back as one.
  return found !== undefined && ID_SHAPE.test(found) ? found : undefined;
}
