/**
 * The public links a message carries, and where a survey link leads. Survey tokens are URL-safe
 * base64 (the standalone platform makes 24 characters); anything else is refused before any query.
 */
const SURVEY_TOKEN = /^[A-Za-z0-9_-]{16,64}$/;

/** Whether `token` has the shape of a survey token; a link with anything else is simply unknown. */
export function isSurveyToken(token: string): boolean {
  return SURVEY_TOKEN.test(token);
}

const withoutTrailingSlash = (baseUrl: string) => baseUrl.replace(/\/+$/, '');

/**
 * The personal survey link of an invitation: it records the open and redirects to the survey.
 *
 * @example surveyLink('https://herald.example', 'q1w2e3r4t5y6u7i8') // 'https://herald.example/s/q1w2e3r4t5y6u7i8'
 */
export function surveyLink(baseUrl: string, token: string): string {
  return `${withoutTrailingSlash(baseUrl)}/s/${encodeURIComponent(token)}`;
}

/**
 * The unsubscribe link of an invitation: a confirmation page on GET, RFC 8058 one-click on POST, so
 * it serves both the message footer and the `List-Unsubscribe` header (with
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).
 *
 * @example unsubscribeLink('https://herald.example', 'q1w2e3r4t5y6u7i8') // 'https://herald.example/u/q1w2e3r4t5y6u7i8'
 */
export function unsubscribeLink(baseUrl: string, token: string): string {
  return `${withoutTrailingSlash(baseUrl)}/u/${encodeURIComponent(token)}`;
}

/**
 * The questionnaire's survey URL with the token as its `token` query parameter (other parameters
 * kept); null when the URL is not an absolute http(s) URL, so a link never leads anywhere else.
 *
 * @example surveyRedirectUrl('https://survey.example/s?lang=en', 'abc…') // 'https://survey.example/s?lang=en&token=abc…'
 */
export function surveyRedirectUrl(surveyUrl: string, token: string): string | null {
  let url: URL;
  try {
    url = new URL(surveyUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  url.searchParams.set('token', token);
  return url.toString();
}
