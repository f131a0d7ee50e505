import type { FastifyReply } from 'fastify';

/**
 * The few pages a recipient sees: plain HTML with no scripts, no external resources and no personal
 * data, never cached or indexed, and never the API's JSON.
 */
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** Sends a page with headers that keep it out of caches, search engines, frames and referrers. */
export function sendPage(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-robots-tag', 'noindex')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    .send(page(title, body));
}

export const invalidLinkPage = (reply: FastifyReply) =>
  sendPage(reply, 404, 'Link not valid', '<p>This survey link is not valid.</p>');

export const surveyUnavailablePage = (reply: FastifyReply) =>
  sendPage(reply, 404, 'Survey not available', '<p>This survey is not available.</p>');

/** The confirmation step: a link scanner that follows the link (GET) unsubscribes nobody. */
export const confirmUnsubscribePage = (reply: FastifyReply, token: string) =>
  sendPage(
    reply,
    200,
    'Unsubscribe',
    `<p>Do you want to stop receiving survey invitations from us?</p>
<form method="post" action="${escapeHtml(encodeURIComponent(token))}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`,
  );

export const unsubscribedPage = (reply: FastifyReply) =>
  sendPage(
    reply,
    200,
    'Unsubscribed',
    '<p>You are unsubscribed and will receive no more survey invitations from us.</p>',
  );

/** Any other failure on a public page (too large a body, an error on our side): status and a short line. */
export const problemPage = (reply: FastifyReply, status: number, requestId: string) =>
  sendPage(
    reply,
    status,
    status >= 500 ? 'Something went wrong' : 'Request not understood',
    `<p>${status >= 500 ? 'Please try again later.' : 'The request could not be handled.'} Reference: ${escapeHtml(requestId)}</p>`,
  );
