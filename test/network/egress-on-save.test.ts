import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { seedAccount } from '../support/accounts.js';
import { expectError } from '../support/management.js';
import { apiClient, type ApiClient } from '../support/api-client.js';

// A Herald with no operator allowlist: what production runs with by default.
describe.each(databaseKinds())('outbound addresses refused when saved on %s', (kind) => {
  let herald: TestHerald;
  let admin: ApiClient;
  let adminKey: string;
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: { HERALD_EGRESS_ALLOW: '', HERALD_EGRESS_ALLOW_PORTS: '' },
      roles: { api: true, workers: false },
    });
    adminKey = (await seedAccount(herald.database, 'admin')).apiKey;
    admin = apiClient(herald, adminKey);
  });
  afterAll(async () => herald?.stop());

  it('refuses a webhook to the metadata address, naming the rule', async () => {
    const answer = await admin.post('/api/webhooks', { url: 'http://169.254.169.254/latest/meta-data/' });
    expectError(answer, 400, 'VALIDATION_FAILED', 'link-local', '169.254.0.0/16', 'HERALD_EGRESS_ALLOW');
    expect((await admin.get('/api/webhooks')).body).toEqual([]);
  });

  it('refuses a webhook to a private address or a non-standard port, and takes a public one', async () => {
    expectError(
      await admin.post('/api/webhooks', { url: 'https://10.0.0.7/hook' }),
      400,
      'VALIDATION_FAILED',
      'private',
    );
    expectError(
      await admin.post('/api/webhooks', { url: 'https://hooks.example.com:8443/h' }),
      400,
      'VALIDATION_FAILED',
      'port 8443',
      'HERALD_EGRESS_ALLOW_PORTS',
    );
    expect((await admin.post('/api/webhooks', { url: 'https://hooks.example.com/h' })).status).toBe(201);
  });

  it('refuses a campaign reporter on loopback', async () => {
    const answer = await admin.put('/api/campaign-reporter', { uri: 'https://[::1]/_bulk' });
    expectError(answer, 400, 'VALIDATION_FAILED', 'uri', 'loopback');
  });

  it('refuses vendors whose host or base URL is not public', async () => {
    expectError(
      await admin.post('/api/vendors', {
        name: 'internal relay',
        kind: 'smtp',
        settings: { host: '127.0.0.1', port: 25, fromAddress: 'surveys@example.test' },
      }),
      400,
      'VALIDATION_FAILED',
      'settings.host',
      'loopback',
    );
    expectError(
      await admin.post('/api/vendors', {
        name: 'twilio',
        kind: 'twilio',
        settings: { baseUrl: 'http://100.100.100.200', accountSid: `AC${'0'.repeat(32)}`, from: '+15005550006' },
        secrets: { authToken: 't' },
      }),
      400,
      'VALIDATION_FAILED',
      'settings.baseUrl',
      'carrier-grade NAT',
    );
    expect((await admin.get('/api/vendors')).body).toEqual([]);
  });
});
