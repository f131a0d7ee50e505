import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { vendors } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import { seedDispatch } from '../../support/platform.js';
import { startDeliveryHarness } from '../../support/delivery.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

describe.each(databaseKinds())('email delivery smoke on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind));
  });

  it('delivers an email with a working survey link and one-click unsubscribe headers', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    await herald.database.db
      .update(vendors)
      .set({
        settings: {
          host: '127.0.0.1',
          port: sink.port,
          security: 'none',
          fromAddress: 'surveys@herald.test',
          rejectUnauthorized: true,
        },
      })
      .where(eq(vendors.id, seeded.vendorId));
    const response = await herald.request('/api/dispatchRequest', {
      method: 'POST',
      token: apiKey,
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: [
            [
              { questionId: seeded.q.uuid, input: 'c1' },
              { questionId: seeded.q.email, input: 'Ann@Example.com' },
              { questionId: seeded.q.name, input: 'Ann' },
            ],
          ],
        },
      ],
    });
    expect(response.status).toBe(207);
    const message = await waitFor(() => sink.messages.find((m) => m.to === 'Ann@example.com'), 20_000);
    expect(message.mail.subject).toBe('We would value your feedback');
    expect(message.mail.text).toContain('Hello Ann');
    // mailparser folds List-* headers into a structure: read the raw ones.
    expect(message.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const unsubscribe = /^List-Unsubscribe: <(http:\/\/127\.0\.0\.1:\d+\/u\/[\w-]+)>\r?$/m.exec(message.raw)?.[1];
    expect(unsubscribe).toBeDefined();
    const oneClick = await fetch(unsubscribe!, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(oneClick.status).toBe(200);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/s\/[\w-]+)/.exec(message.mail.text ?? '')?.[1];
    expect(link).toBeDefined();
    const open = await fetch(link!, { redirect: 'manual' });
    expect(open.status).toBe(302);
    expect(open.headers.get('location')).toMatch(/^https:\/\/survey\.example\/s\?token=/);
  });
});
