/** The small set of causes every vendor error is translated into (DESIGN "Status model"). */
export const errorCategories = {
  invalid_recipient: {
    retryable: false,
    advice: 'The address does not exist or is malformed: correct it and send again.',
  },
  mailbox_unavailable: {
    retryable: true,
    advice: "The recipient's mailbox cannot take mail right now (full or disabled).",
  },
  blocked_or_spam: {
    retryable: false,
    advice:
      'The receiving side refused the message as spam or by policy: check sender reputation and authentication (SPF, DKIM, DMARC).',
  },
  rate_limited: {
    retryable: true,
    advice: 'The vendor asked Herald to slow down; the message is retried later automatically.',
  },
  auth_or_config: {
    retryable: false,
    advice: "The vendor refused Herald's credentials or settings: fix the vendor's configuration, then retry.",
  },
  content_rejected: {
    retryable: false,
    advice: 'The vendor refused the content of the message: check the content template.',
  },
  vendor_unavailable: {
    retryable: true,
    advice: 'The vendor is temporarily unavailable; the message is retried automatically.',
  },
  network: { retryable: true, advice: 'Herald could not reach the vendor; the message is retried automatically.' },
  unknown: {
    retryable: false,
    advice: 'The vendor refused the message for a reason Herald does not recognise: see the vendor error.',
  },
} as const;

export type ErrorCategory = keyof typeof errorCategories;
