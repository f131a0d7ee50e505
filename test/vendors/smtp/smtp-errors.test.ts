import { describe, expect, it } from 'vitest';
import { readableError } from '../../../src/pipeline/dispatch/record-outcomes.js';
import { translateSmtpError } from '../../../src/vendors/smtp/smtp-errors.js';

/**
 * What nodemailer reports when a server answers with `reply` (its `_formatError`): the message
 * carries the reply after the command's words, `response` the reply itself, `responseCode` its number.
 */
function serverReply(reply: string, code = 'EENVELOPE') {
  return {
    code,
    response: reply,
    responseCode: Number(reply.slice(0, 3)),
    message: `Can't send mail - all recipients were rejected: ${reply}`,
  };
}

const categoryOf = (error: unknown) => translateSmtpError(error).category;

describe('SMTP reply codes', () => {
  it('reads a permanent 550 5.1.1 as an invalid recipient, not retried, with the server’s words but no address', () => {
    expect(
      translateSmtpError(serverReply('550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown')),
    ).toEqual({
      ok: false,
      category: 'invalid_recipient',
      retryable: false,
      code: '550',
      detail: '550 5.1.1 <[address]>: Recipient address rejected: User unknown',
    });
  });

  it.each([
    ['550 5.1.1 The email account that you tried to reach does not exist', 'invalid_recipient'],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'invalid_recipient'],
    ['550 No such user here', 'invalid_recipient'],
    ['551 User not local; please try <forward@example.org>', 'invalid_recipient'],
    ['553 Requested action not taken: mailbox name not allowed', 'invalid_recipient'],
    ['550 Requested action not taken: mailbox unavailable', 'mailbox_unavailable'],
    ['552 5.2.2 Mailbox full', 'mailbox_unavailable'],
    ['552 Requested mail action aborted: exceeded storage allocation', 'mailbox_unavailable'],
    ['550 5.2.1 The email account that you tried to reach is disabled', 'mailbox_unavailable'],
    ['554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org', 'blocked_or_spam'],
    ['550 5.7.26 Unauthenticated email from example.com is not accepted due to its DMARC policy', 'blocked_or_spam'],
    ['554 Message rejected as spam', 'blocked_or_spam'],
    ['554 5.6.0 Message content rejected', 'content_rejected'],
    ['552 5.3.4 Message size exceeds fixed limit', 'content_rejected'],
    ['550 Rejected', 'invalid_recipient'],
    ['554 Transaction failed', 'unknown'],
  ])('reads %j as %s, not retried', (reply, category) => {
    const outcome = translateSmtpError(serverReply(reply));
    expect(outcome.category).toBe(category);
    expect(outcome.retryable).toBe(false);
    expect(outcome.code).toBe(reply.slice(0, 3));
  });

  it.each([
    ['421 4.7.0 Try again later, closing connection', 'vendor_unavailable'],
    ['451 4.3.0 Temporary local problem', 'vendor_unavailable'],
    ['421 4.3.2 System not accepting network messages: service operated in degraded mode', 'vendor_unavailable'],
    [
      '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages',
      'rate_limited',
    ],
    ['452 4.5.3 Too many recipients', 'rate_limited'],
    ['421 4.7.28 Our system has detected an unusual rate of unsolicited mail', 'rate_limited'],
    ['451 4.7.1 Throttled: please slow down', 'rate_limited'],
    ['450 4.2.0 Mailbox unavailable', 'mailbox_unavailable'],
    ['452 4.2.2 Mailbox over quota', 'mailbox_unavailable'],
  ])('reads %j as %s, retried', (reply, category) => {
    const outcome = translateSmtpError(serverReply(reply));
    expect(outcome.category).toBe(category);
    expect(outcome.retryable).toBe(true);
  });

  it('keeps a permanent reply unretried even in a category that is usually retried', () => {
    // mailbox_unavailable is retryable by default; a 5xx says this one will not change.
    expect(translateSmtpError(serverReply('552 5.2.2 Mailbox full'))).toMatchObject({
      category: 'mailbox_unavailable',
      retryable: false,
    });
  });
});

describe('authentication and TLS', () => {
  it.each([
    ['535 5.7.8 Username and Password not accepted', 'EAUTH'],
    ['534 5.7.9 Application-specific password required', 'EAUTH'],
    ['530 5.7.0 Authentication Required', 'EENVELOPE'],
  ])('reads %j as a configuration problem, not retried', (reply, code) => {
    const outcome = translateSmtpError(serverReply(reply, code));
    expect(outcome).toMatchObject({ category: 'auth_or_config', retryable: false, code: reply.slice(0, 3) });
  });

  it('reads a login refused before any reply as a configuration problem', () => {
    expect(translateSmtpError({ code: 'EAUTH', message: 'Missing credentials for "PLAIN"' })).toEqual({
      ok: false,
      category: 'auth_or_config',
      retryable: false,
      code: 'EAUTH',
      detail: 'Missing credentials for "PLAIN"',
    });
  });

  it.each([
    [{ code: 'ETLS', message: 'Error initiating TLS - unsupported protocol' }],
    [{ code: 'ESOCKET', message: 'self-signed certificate in certificate chain' }],
    [{ code: 'ESOCKET', message: 'unable to verify the first certificate' }],
    [{ code: 'ESOCKET', message: "Hostname/IP does not match certificate's altnames: Host: smtp.example.com." }],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: 'altnames mismatch' }],
    // TLS spoken to a plain-text port (secure: true on 587): what nodemailer reports on this machine.
    [
      {
        code: 'ESOCKET',
        message:
          '803C473D3F7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
      },
    ],
  ])('reads the TLS failure %j as a configuration problem, not retried', (error) => {
    expect(translateSmtpError(error)).toMatchObject({ category: 'auth_or_config', retryable: false, code: error.code });
  });
});

describe('network failures (no reply)', () => {
  it.each([
    ['ESOCKET', 'connect ECONNREFUSED 127.0.0.1:2525'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:2525'],
    ['ETIMEDOUT', 'Connection timeout'],
    ['ETIMEDOUT', 'Greeting never received'],
    ['ECONNECTION', 'Connection closed unexpectedly'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['EDNS', 'getaddrinfo ENOTFOUND smtp.example.invalid'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND smtp.example.invalid'],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH 192.0.2.1:25'],
    ['EPIPE', 'write EPIPE'],
  ])('reads %s (%s) as a network failure, retried', (code, message) => {
    expect(translateSmtpError({ code, message })).toEqual({
      ok: false,
      category: 'network',
      retryable: true,
      code,
      detail: message,
    });
  });

  it('reads an unrecognised failure without a reply as the vendor being unavailable, retried', () => {
    expect(translateSmtpError(new Error('Connection pool was closed'))).toEqual({
      ok: false,
      category: 'vendor_unavailable',
      retryable: true,
      code: null,
      detail: 'Connection pool was closed',
    });
  });

  it('reads a server closing the connection with a 421 by its reply', () => {
    // nodemailer: ECONNECTION with the server's reply as the response.
    const error = {
      code: 'ECONNECTION',
      response: '421 4.3.2 Service shutting down',
      responseCode: 421,
      message: 'Server terminates connection. response=421 4.3.2 Service shutting down',
    };
    expect(translateSmtpError(error)).toMatchObject({ category: 'vendor_unavailable', retryable: true, code: '421' });
  });
});

describe('what is kept of the error', () => {
  it('prefers the server’s reply over the message as the detail', () => {
    expect(translateSmtpError(serverReply('550 5.1.1 User unknown')).detail).toBe('550 5.1.1 User unknown');
  });

  it('keeps at most 1000 characters of the detail', () => {
    const long = `550 5.1.1 ${'x'.repeat(2000)}`;
    expect(translateSmtpError(serverReply(long)).detail).toBe(long.slice(0, 1000));
  });

  it('turns anything thrown into a refusal', () => {
    expect(translateSmtpError('boom')).toMatchObject({ category: 'vendor_unavailable', code: null, detail: 'boom' });
    expect(translateSmtpError(undefined)).toMatchObject({ category: 'vendor_unavailable', retryable: true });
    expect(categoryOf(null)).toBe('vendor_unavailable');
  });
});

describe('the message a person reads', () => {
  it('gives the category’s advice and the server’s words, saying the reply code once', () => {
    const { category, code, detail } = translateSmtpError(serverReply('550 5.1.1 User unknown'));
    expect(readableError(category, code, detail)).toBe(
      'The address does not exist or is malformed: correct it and send again. Vendor said: 550 5.1.1 User unknown',
    );
  });

  it('names the network error code when the words do not start with it', () => {
    const { category, code, detail } = translateSmtpError({ code: 'ETIMEDOUT', message: 'Connection timeout' });
    expect(readableError(category, code, detail)).toBe(
      'Herald could not reach the vendor; the message is retried automatically. Vendor said: ETIMEDOUT Connection timeout',
    );
  });

  it('replaces the promise of another try with the number of attempts once Herald gives up', () => {
    const { category, code, detail } = translateSmtpError(serverReply('421 4.7.0 Try again later'));
    expect(readableError(category, code, detail, 5)).toBe(
      'The vendor is temporarily unavailable. Herald gave up after 5 attempts. Vendor said: 421 4.7.0 Try again later',
    );
  });

  it('tells a person to fix the configuration for a TLS failure', () => {
    const { category, code, detail } = translateSmtpError({ code: 'ETLS', message: 'Error initiating TLS' });
    expect(readableError(category, code, detail)).toBe(
      "The vendor refused Herald's credentials or settings: fix the vendor's configuration, then retry. Vendor said: ETLS Error initiating TLS",
    );
  });
});
