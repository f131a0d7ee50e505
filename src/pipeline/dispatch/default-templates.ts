import type { Channel, TemplateVariant } from '../../storage/schema.js';

/** What a dispatch sends on a channel it has no content template for: plain, in English. */
export const defaultTemplates: Record<Channel, TemplateVariant[]> = {
  email: [
    {
      language: 'en',
      subject: 'We would value your feedback',
      text: 'Hello{{#if prefills.Name}} {{prefills.Name}}{{/if}},\n\nPlease tell us about your recent experience:\n{{surveyLink}}\n\nTo stop receiving these messages: {{unsubscribeLink}}\n',
      html: '<p>Hello{{#if prefills.Name}} {{prefills.Name}}{{/if}},</p><p>Please tell us about your recent experience: <a href="{{surveyLink}}">take the survey</a>.</p><p style="font-size:small">To stop receiving these messages, <a href="{{unsubscribeLink}}">unsubscribe</a>.</p>',
    },
  ],
  sms: [
    {
      language: 'en',
      text: 'Please tell us about your recent experience: {{surveyLink}} Opt out: {{unsubscribeLink}}',
    },
  ],
  whatsapp: [{ language: 'en', text: 'Please tell us about your recent experience: {{surveyLink}}' }],
};
