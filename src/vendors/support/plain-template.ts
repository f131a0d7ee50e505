import Handlebars from 'handlebars';

// Its own environment: nothing registered here reaches the content templates, and the reverse.
const handlebars = Handlebars.create();

/** What a vendor setting template sees of a message. */
export interface MessageContext {
  to: string;
  text: string;
  subject: string;
  html: string;
  messageId: string;
  surveyLink: string;
  unsubscribeLink: string;
  links: { survey: string; unsubscribe: string };
}

/**
 * Compiles a Handlebars template whose output is plain text (no HTML escaping), with only the
 * built-in helpers. A syntax error is thrown now, when the vendor is built, not at the first send.
 *
 * @example
 * plainTemplate('{{surveyLink}}')({ surveyLink: 'https://h.example/s/abc' }) // 'https://h.example/s/abc'
 */
export function plainTemplate(source: string): (context: object) => string {
  handlebars.parse(source);
  const render = handlebars.compile(source, { noEscape: true, knownHelpersOnly: true });
  return (context) => render(context);
}

/** The context vendor setting templates render over. */
export function messageContext(message: {
  id: string;
  to: string;
  text: string;
  subject?: string;
  html?: string;
  links?: { survey: string; unsubscribe: string };
}): MessageContext {
  const links = { survey: message.links?.survey ?? '', unsubscribe: message.links?.unsubscribe ?? '' };
  return {
    to: message.to,
    text: message.text,
    subject: message.subject ?? '',
    html: message.html ?? '',
    messageId: message.id,
    surveyLink: links.survey,
    unsubscribeLink: links.unsubscribe,
    links,
  };
}
