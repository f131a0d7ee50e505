import { randomBytes } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import { accounts, deliveryPolicies, dispatches, questionnaires, questions } from '../../storage/schema.js';
import type { DispatchDefinition, ExperiencePlatform, PlatformSettings, TokenRequest } from '../experience-platform.js';
import { isUnsubscribed } from './unsubscribes.js';

/** 144 random bits, URL-safe: unguessable, and unique in practice (the column is unique too). */
export function newSurveyToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Herald as its own survey platform: the model lives in Herald's database. */
export class StandalonePlatform implements ExperiencePlatform {
  constructor(private readonly db: Db) {}

  async settings(accountId: string): Promise<PlatformSettings> {
    const [row] = await this.db
      .select({
        hashAlgorithm: accounts.hashAlgorithm,
        defaultPhoneRegion: accounts.defaultPhoneRegion,
        normalizedHashing: accounts.normalizedHashing,
      })
      .from(accounts)
      .where(eq(accounts.id, accountId));
    if (!row) throw new Error(`account ${accountId} vanished`);
    return row;
  }

  async dispatch(accountId: string, dispatchId: string): Promise<DispatchDefinition | null> {
    if (!isUuid(dispatchId)) return null;
    const [dispatch] = await this.db
      .select()
      .from(dispatches)
      .where(and(eq(dispatches.accountId, accountId), eq(dispatches.id, dispatchId)));
    if (!dispatch) return null;
    const [policy] = await this.db
      .select({
        id: deliveryPolicies.id,
        paused: deliveryPolicies.paused,
        channels: deliveryPolicies.channels,
        uuidQuestionId: deliveryPolicies.uuidQuestionId,
        sendWindow: deliveryPolicies.sendWindow,
        reminders: deliveryPolicies.reminders,
        fatigue: deliveryPolicies.fatigue,
        channelFallback: deliveryPolicies.channelFallback,
      })
      .from(deliveryPolicies)
      .where(and(eq(deliveryPolicies.accountId, accountId), eq(deliveryPolicies.id, dispatch.deliveryPolicyId)));
    const [questionnaire] = await this.db
      .select({ surveyUrl: questionnaires.surveyUrl })
      .from(questionnaires)
      .where(eq(questionnaires.id, dispatch.questionnaireId));
    const questionRows = await this.db
      .select({
        id: questions.id,
        text: questions.text,
        tags: questions.tags,
        pii: questions.pii,
        apiPrefill: questions.apiPrefill,
      })
      .from(questions)
      .where(and(eq(questions.accountId, accountId), eq(questions.questionnaireId, dispatch.questionnaireId)))
      .orderBy(asc(questions.position));
    return {
      id: dispatch.id,
      name: dispatch.name,
      paused: dispatch.paused,
      defaultLanguage: dispatch.defaultLanguage,
      channelVendors: dispatch.channelVendors,
      staticPrefills: dispatch.staticPrefills,
      questions: questionRows,
      policy: policy ?? null,
      templates: dispatch.templates,
      surveyUrl: questionnaire?.surveyUrl ?? null,
    };
  }

  async createTokens(_accountId: string, _dispatchId: string, records: readonly TokenRequest[]): Promise<string[]> {
    return records.map(() => newSurveyToken());
  }

  async unsubscribed(accountId: string, identifierHashes: readonly string[]): Promise<Set<string>> {
    return isUnsubscribed(this.db, accountId, identifierHashes);
  }
}
