import { and, asc, eq, max, sql } from 'drizzle-orm';
import { notFound } from '../../errors.js';
import type { Database, Db } from '../../storage/database.js';
import { assertNoDispatchUses } from '../../storage/dispatch-references.js';
import { isUuid } from '../../storage/ids.js';
import { dispatches, questionnaires, questions } from '../../storage/schema.js';

export type Questionnaire = Omit<typeof questionnaires.$inferSelect, 'accountId'>;
export type Question = Omit<typeof questions.$inferSelect, 'accountId'>;

export interface QuestionnaireInput {
  name: string;
  /** An http(s) URL (checked by the route schema) or null. */
  surveyUrl?: string | null;
}

export interface QuestionInput {
  text: string;
  displayType?: string;
  tags?: string[];
  pii?: 'none' | 'hash';
  apiPrefill?: boolean;
  /** Where the question sits in its questionnaire; by default after the last one. */
  position?: number;
}

const questionnaireColumns = {
  id: questionnaires.id,
  name: questionnaires.name,
  surveyUrl: questionnaires.surveyUrl,
  createdAt: questionnaires.createdAt,
};

const questionColumns = {
  id: questions.id,
  questionnaireId: questions.questionnaireId,
  text: questions.text,
  displayType: questions.displayType,
  tags: questions.tags,
  pii: questions.pii,
  apiPrefill: questions.apiPrefill,
  position: questions.position,
  createdAt: questions.createdAt,
};

const ownQuestionnaire = (accountId: string, id: string) =>
  and(eq(questionnaires.accountId, accountId), eq(questionnaires.id, id));

const ownQuestion = (accountId: string, questionnaireId: string, id: string) =>
  and(eq(questions.accountId, accountId), eq(questions.questionnaireId, questionnaireId), eq(questions.id, id));

export async function createQuestionnaire(
  db: Db,
  accountId: string,
  input: QuestionnaireInput,
): Promise<Questionnaire> {
  const [created] = await db
    .insert(questionnaires)
    .values({ accountId, name: input.name, surveyUrl: input.surveyUrl ?? null })
    .returning(questionnaireColumns);
  if (!created) throw new Error('insert returned no row');
  return created;
}

export function listQuestionnaires(db: Db, accountId: string): Promise<Questionnaire[]> {
  return db
    .select(questionnaireColumns)
    .from(questionnaires)
    .where(eq(questionnaires.accountId, accountId))
    .orderBy(asc(questionnaires.name), asc(questionnaires.id));
}

export async function getQuestionnaire(db: Db, accountId: string, id: string): Promise<Questionnaire> {
  if (!isUuid(id)) throw notFound('Questionnaire', id);
  const [found] = await db.select(questionnaireColumns).from(questionnaires).where(ownQuestionnaire(accountId, id));
  if (!found) throw notFound('Questionnaire', id);
  return found;
}

export async function updateQuestionnaire(
  db: Db,
  accountId: string,
  id: string,
  changes: Partial<QuestionnaireInput>,
): Promise<Questionnaire> {
  if (!isUuid(id)) throw notFound('Questionnaire', id);
  if (changes.name === undefined && changes.surveyUrl === undefined) return getQuestionnaire(db, accountId, id);
  const [updated] = await db
    .update(questionnaires)
    .set({ name: changes.name, surveyUrl: changes.surveyUrl })
    .where(ownQuestionnaire(accountId, id))
    .returning(questionnaireColumns);
  if (!updated) throw notFound('Questionnaire', id);
  return updated;
}

/** Deletes a questionnaire and its questions, unless a dispatch uses it (409). */
export async function deleteQuestionnaire(database: Database, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Questionnaire', id);
  await database.transaction(async ({ db }) => {
    const [locked] = await db
      .select({ id: questionnaires.id })
      .from(questionnaires)
      .where(ownQuestionnaire(accountId, id))
      .for('update');
    if (!locked) throw notFound('Questionnaire', id);
    await assertNoDispatchUses(db, accountId, `The questionnaire ${id}`, eq(dispatches.questionnaireId, id));
    await db.delete(questionnaires).where(eq(questionnaires.id, id));
  });
}

export async function createQuestion(
  db: Db,
  accountId: string,
  questionnaireId: string,
  input: QuestionInput,
): Promise<Question> {
  await getQuestionnaire(db, accountId, questionnaireId);
  const position = input.position ?? (await nextPosition(db, questionnaireId));
  const [created] = await db
    .insert(questions)
    .values({ ...input, accountId, questionnaireId, position })
    .returning(questionColumns);
  if (!created) throw new Error('insert returned no row');
  return created;
}

async function nextPosition(db: Db, questionnaireId: string): Promise<number> {
  const [row] = await db
    .select({ last: max(questions.position) })
    .from(questions)
    .where(eq(questions.questionnaireId, questionnaireId));
  return (row?.last ?? -1) + 1;
}

export async function listQuestions(db: Db, accountId: string, questionnaireId: string): Promise<Question[]> {
  await getQuestionnaire(db, accountId, questionnaireId);
  return db
    .select(questionColumns)
    .from(questions)
    .where(and(eq(questions.accountId, accountId), eq(questions.questionnaireId, questionnaireId)))
    .orderBy(asc(questions.position), asc(questions.createdAt), asc(questions.id));
}

export async function updateQuestion(
  db: Db,
  accountId: string,
  questionnaireId: string,
  id: string,
  changes: Partial<QuestionInput>,
): Promise<Question> {
  if (!isUuid(questionnaireId) || !isUuid(id)) throw notFound('Question', id);
  const hasChanges = Object.values(changes).some((value) => value !== undefined);
  const [question] = hasChanges
    ? await db
        .update(questions)
        .set(changes)
        .where(ownQuestion(accountId, questionnaireId, id))
        .returning(questionColumns)
    : await db
        .select(questionColumns)
        .from(questions)
        .where(ownQuestion(accountId, questionnaireId, id));
  if (!question) throw notFound('Question', id);
  return question;
}

/** Deletes a question, unless a dispatch gives it a static prefill (409). */
export async function deleteQuestion(
  database: Database,
  accountId: string,
  questionnaireId: string,
  id: string,
): Promise<void> {
  if (!isUuid(questionnaireId) || !isUuid(id)) throw notFound('Question', id);
  await database.transaction(async ({ db }) => {
    const [locked] = await db
      .select({ id: questions.id })
      .from(questions)
      .where(ownQuestion(accountId, questionnaireId, id))
      .for('update');
    if (!locked) throw notFound('Question', id);
    const prefillOfThisQuestion = JSON.stringify([{ questionId: id.toLowerCase() }]);
    await assertNoDispatchUses(
      db,
      accountId,
      `The question ${id}`,
      sql`${dispatches.staticPrefills} @> ${prefillOfThisQuestion}::jsonb`,
    );
    await db.delete(questions).where(eq(questions.id, id));
  });
}
