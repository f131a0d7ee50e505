import type { ReporterFormat } from './campaign-reporter-settings.js';

/**
 * Elasticsearch's bulk format: per document an action line and the document, each one line of
 * JSON, the whole ending with a newline.
 *
 * @example elasticsearchBulk('herald-campaigns', [{ type: 'state' }])
 * // '{"index":{"_index":"herald-campaigns"}}\n{"type":"state"}\n'
 */
export function elasticsearchBulk(indexName: string, documents: readonly Record<string, unknown>[]): string {
  const action = JSON.stringify({ index: { _index: indexName } });
  // JSON.stringify escapes newlines inside strings, so each document stays on one line.
  return documents.map((doc) => `${action}\n${JSON.stringify(doc)}\n`).join('');
}

/** The request body for some reporter documents: one JSON document, or a bulk of any number. */
export function reporterRequest(
  format: ReporterFormat,
  indexName: string,
  documents: readonly Record<string, unknown>[],
): { contentType: string; body: string } {
  if (format === 'elasticsearch') {
    return { contentType: 'application/x-ndjson', body: elasticsearchBulk(indexName, documents) };
  }
  if (documents.length !== 1) throw new Error('the json format posts one document at a time');
  return { contentType: 'application/json', body: JSON.stringify(documents[0]) };
}
