import type { PlatformQuestion } from '../platforms/experience-platform.js';

/** A header that was matched to a question. */
export interface MappedColumn {
  readonly header: string;
  readonly questionId: string;
}

export type HeaderMapping =
  | {
      ok: true;
      /** Per column of the file: the question its cells prefill, or null when it maps to none. */
      questionIds: (string | null)[];
      mapped: MappedColumn[];
      /** Headers that match no question open to prefill: their cells are ignored. */
      unmapped: string[];
    }
  | { ok: false; problem: 'duplicates'; duplicates: string[] }
  | { ok: false; problem: 'conflict'; message: string }
  | { ok: false; problem: 'none-mapped' };

const key = (text: string) => text.trim().toLowerCase();

/**
 * Maps a file's header row to the dispatch's questions open to prefill. A header (trimmed, any case)
 * names a question by the uploader's `mapping` (header → question id or text) or else by itself: a
 * question's id, its text, or one of its tags (Email, Mobile, cc_language, …), in that order of
 * precedence. Headers that repeat refuse the whole file, as do two columns for one question.
 */
export function mapHeader(
  headers: readonly string[],
  questions: readonly PlatformQuestion[],
  mapping: Readonly<Record<string, string>> | null = null,
): HeaderMapping {
  const seen = new Map<string, number>();
  for (const header of headers) if (key(header) !== '') seen.set(key(header), (seen.get(key(header)) ?? 0) + 1);
  const duplicates = headers.filter((h, i) => (seen.get(key(h)) ?? 0) > 1 && headers.indexOf(h) === i);
  if (duplicates.length > 0) return { ok: false, problem: 'duplicates', duplicates };

  const open = questions.filter((q) => q.apiPrefill);
  const byId = new Map(open.map((q) => [key(q.id), q]));
  const byText = new Map<string, PlatformQuestion>();
  const byTag = new Map<string, PlatformQuestion>();
  for (const q of open) {
    if (!byText.has(key(q.text))) byText.set(key(q.text), q);
    for (const tag of q.tags) if (!byTag.has(key(tag))) byTag.set(key(tag), q);
  }
  const chosen = new Map(Object.entries(mapping ?? {}).map(([header, target]) => [key(header), key(target)]));
  const find = (name: string) => byId.get(name) ?? byText.get(name) ?? byTag.get(name);

  const questionIds: (string | null)[] = [];
  const mapped: MappedColumn[] = [];
  const unmapped: string[] = [];
  const columnOf = new Map<string, string>();
  for (const header of headers) {
    const target = chosen.get(key(header));
    const question = key(header) === '' ? undefined : find(target ?? key(header));
    if (!question) {
      questionIds.push(null);
      if (key(header) !== '') unmapped.push(header);
      continue;
    }
    const earlier = columnOf.get(question.id);
    if (earlier !== undefined) {
      return {
        ok: false,
        problem: 'conflict',
        message: `the columns "${earlier}" and "${header}" both map to the question "${question.text}" (${question.id})`,
      };
    }
    columnOf.set(question.id, header);
    questionIds.push(question.id);
    mapped.push({ header, questionId: question.id });
  }
  if (mapped.length === 0) return { ok: false, problem: 'none-mapped' };
  return { ok: true, questionIds, mapped, unmapped };
}
