import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../support/herald.js';

describe('the management API in the OpenAPI document', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald('pglite', { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('documents every route with its body schema', async () => {
    const document = (await (await herald.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    const expected: Record<string, string[]> = {
      '/api/account/settings': ['get', 'patch'],
      '/api/questionnaires': ['get', 'post'],
      '/api/questionnaires/{id}': ['delete', 'get', 'patch'],
      '/api/questionnaires/{id}/questions': ['get', 'post'],
      '/api/questionnaires/{id}/questions/{questionId}': ['delete', 'patch'],
      '/api/delivery-policies': ['get', 'post'],
      '/api/delivery-policies/{id}': ['delete', 'get', 'patch'],
      '/api/vendors': ['get', 'post'],
      '/api/vendors/{id}': ['delete', 'get', 'patch'],
      '/api/dispatches': ['get', 'post'],
      '/api/dispatches/{id}': ['delete', 'get', 'patch'],
      '/api/dispatches/{id}/pause': ['post'],
      '/api/dispatches/{id}/resume': ['post'],
      '/api/unsubscribes': ['get', 'post'],
      '/api/unsubscribes/{*}': ['delete'], // see unsubscribe-routes.ts for why
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(document.paths[path] ?? {}).sort(), path).toEqual(methods);
    }
    // Deletes document their 204.
    expect(document.paths['/api/vendors/{id}']?.delete).toMatchObject({
      responses: { 204: { description: 'Deleted' } },
    });
    const dispatchBody = document.paths['/api/dispatches']?.post?.requestBody?.content['application/json']?.schema;
    expect((dispatchBody as { required: string[] }).required).toEqual(
      expect.arrayContaining(['name', 'questionnaireId', 'deliveryPolicyId']),
    );
  });
});
