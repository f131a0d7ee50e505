import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { waitFor } from '../../support/wait.js';
import { startFakeVendorServer, type FakeVendorServer, type Received } from '../../support/fake-vendor-server.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const TWILIO_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const PHONE_NUMBER_ID = '106540352242922';
const WHATSAPP_PATH = `/v22.0/${PHONE_NUMBER_ID}/messages`;
const SURVEY_LINK = /^http:\/\/127\.0\.0\.1:\d+\/s\/[\w-]+$/;

describe.each(databaseKinds())('dispatches through REST vendors on %s', (kind) => {
  let herald: TestHerald;
  let fake: FakeVendorServer;
  beforeAll(async () => {
    // Speaks just enough of Twilio's and the Cloud API's documented answers.
    fake = await startFakeVendorServer((request) => {
      if (request.method === 'POST' && request.path === TWILIO_PATH)
        return { status: 201, body: { sid: 'SM7e1b3a55d6a64b0e9c1f2a3b4c5d6e7f', status: 'queued' } };
      if (request.method === 'POST' && request.path === WHATSAPP_PATH)
        return {
          status: 200,
          body: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.HBgLNDQ3OTExMTIzNDU2' }] },
        };
      return { status: 404, body: { code: 20404, message: 'The requested resource was not found', status: 404 } };
    });
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_FLUSH_MS: '0', HERALD_DELIVERY_POLL_MS: '50' } });
  });
  afterAll(async () => {
    await herald?.stop();
    await fake?.close();
  });

  /**
   * Through the API: a questionnaire with a Mobile question, a policy for `channel`, the vendor, a
   * dispatch; then one record with `mobile`. Returns the request the fake vendor received for it and
   * the message as Herald recorded it once sent.
   */
  async function dispatchOne(channel: Channel, vendor: object, mobile: string, vendorPath: string) {
    const { apiKey } = await seedAccount(herald.database);
    const call = async (path: string, json: unknown, expected = 201) => {
      const response = await herald.request(path, { method: 'POST', token: apiKey, json });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).toBe(expected);
      return body;
    };
    const questionnaire = await call('/api/questionnaires', { name: 'Visit', surveyUrl: 'https://survey.example/s' });
    const questions = `/api/questionnaires/${String(questionnaire.id)}/questions`;
    const uuidQuestion = await call(questions, { text: 'Customer id' });
    const mobileQuestion = await call(questions, { text: 'Mobile', tags: ['Mobile'], pii: 'hash' });
    const policy = await call('/api/delivery-policies', {
      name: channel,
      channels: [channel],
      uuidQuestionId: uuidQuestion.id,
    });
    const created = await call('/api/vendors', vendor);
    expect(created.channel).toBe(channel);
    const dispatch = await call('/api/dispatches', {
      name: 'Visit survey',
      questionnaireId: questionnaire.id,
      deliveryPolicyId: policy.id,
      channelVendors: { [channel]: created.id },
    });
    const answer = await call(
      '/api/dispatchRequest',
      [
        {
          dispatchID: dispatch.id,
          preFill: [
            [
              { questionId: uuidQuestion.id, input: `customer-${channel}` },
              { questionId: mobileQuestion.id, input: mobile },
            ],
          ],
        },
      ],
      207,
    );
    expect(answer.statusByDispatch).toMatchObject([{ dispatchStatus: 202 }]);

    const received: Received = await waitFor(() => fake.received.find((r) => r.path === vendorPath), 20_000, {
      description: `the ${channel} message to reach the fake vendor`,
    });
    const sent = await waitFor(async () => {
      const [row] = await herald.database.sql.query<{ status: string; vendor_message_id: string | null }>(
        'SELECT status, vendor_message_id FROM messages WHERE dispatch_id = $1',
        [dispatch.id],
      );
      return row?.status === 'sent' ? row : undefined;
    });
    return { received, sent, secretsShown: JSON.stringify(created) };
  }

  /** The survey link leads to the survey. */
  async function expectWorkingSurveyLink(link: string | undefined): Promise<void> {
    expect(link).toMatch(SURVEY_LINK);
    const open = await fetch(link!, { redirect: 'manual' });
    expect(open.status).toBe(302);
    expect(open.headers.get('location')).toMatch(/^https:\/\/survey\.example\/s\?token=/);
  }

  it('delivers an SMS invitation to the Twilio API with a working survey link', async () => {
    const { received, sent, secretsShown } = await dispatchOne(
      'sms',
      {
        name: 'Twilio',
        kind: 'twilio',
        settings: { baseUrl: fake.url, accountSid: ACCOUNT_SID, from: '+15017122661' },
        secrets: { authToken: AUTH_TOKEN },
      },
      '+447911123456',
      TWILIO_PATH,
    );
    expect(secretsShown).not.toContain(AUTH_TOKEN);
    expect(received.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
    );
    const form = new URLSearchParams(received.body);
    expect(form.get('To')).toBe('+447911123456');
    expect(form.get('From')).toBe('+15017122661');
    expect(sent.vendor_message_id).toBe('SM7e1b3a55d6a64b0e9c1f2a3b4c5d6e7f');
    await expectWorkingSurveyLink(/(http:\/\/127\.0\.0\.1:\d+\/s\/[\w-]+)/.exec(form.get('Body') ?? '')?.[1]);
    expect(fake.received.filter((r) => r.path === TWILIO_PATH)).toHaveLength(1);
  });

  it('delivers a WhatsApp template whose body parameter is the survey link', async () => {
    const { received, sent } = await dispatchOne(
      'whatsapp',
      {
        name: 'WhatsApp',
        kind: 'whatsapp-cloud',
        settings: {
          baseUrl: fake.url,
          phoneNumberId: PHONE_NUMBER_ID,
          templateName: 'survey_invitation',
          languageCode: 'en',
          quickReplyPayloads: ['unsubscribe'],
        },
        secrets: { accessToken: 'EAAJB9kZC8ZAk0BAJ5ZBZAtest' },
      },
      '+447400123456',
      WHATSAPP_PATH,
    );
    const body = JSON.parse(received.body) as {
      to: string;
      template: { components: { type: string; parameters: { text?: string }[] }[] };
    };
    expect(body.to).toBe('+447400123456');
    expect(sent.vendor_message_id).toBe('wamid.HBgLNDQ3OTExMTIzNDU2');
    await expectWorkingSurveyLink(body.template.components[0]?.parameters[0]?.text);
  });
});
