import { describe, expect, it } from 'vitest';
import { identifierHashes } from '../../../src/privacy/stored-identifiers.js';
import { isSurveyToken, surveyLink, surveyRedirectUrl, unsubscribeLink } from '../../../src/pipeline/feedback/links.js';
import { sha512Of } from '../../support/feedback.js';

describe('feedback links', () => {
  it('builds the survey and unsubscribe links of a token', () => {
    expect(surveyLink('https://herald.example', 'AbC_-1234567890xyz')).toBe(
      'https://herald.example/s/AbC_-1234567890xyz',
    );
    expect(unsubscribeLink('https://herald.example', 'AbC_-1234567890xyz')).toBe(
      'https://herald.example/u/AbC_-1234567890xyz',
    );
    expect(surveyLink('https://herald.example/base/', 'AbC_-1234567890xyz')).toBe(
      'https://herald.example/base/s/AbC_-1234567890xyz',
    );
  });

  it('accepts only URL-safe base64 tokens of 16 to 64 characters', () => {
    expect(isSurveyToken('a'.repeat(16))).toBe(true);
    expect(isSurveyToken('A-b_' + 'x'.repeat(60))).toBe(true);
    expect(isSurveyToken('a'.repeat(15))).toBe(false);
    expect(isSurveyToken('a'.repeat(65))).toBe(false);
    expect(isSurveyToken('abcdefghijklmnop=')).toBe(false);
    expect(isSurveyToken('abcdefgh/ijklmnop')).toBe(false);
    expect(isSurveyToken("abcdefghijklmnop'--")).toBe(false);
  });

  it('appends the token to the survey URL, keeping its other parameters', () => {
    const location = surveyRedirectUrl('https://survey.example/run?lang=en&token=stale#top', 'AbC_-1234567890xyz');
    const url = new URL(location!);
    expect(url.origin + url.pathname).toBe('https://survey.example/run');
    expect(url.searchParams.get('lang')).toBe('en');
    expect(url.searchParams.getAll('token')).toEqual(['AbC_-1234567890xyz']);
    expect(url.hash).toBe('#top');
    expect(surveyRedirectUrl('javascript:alert(1)', 'AbC_-1234567890xyz')).toBeNull();
    expect(surveyRedirectUrl('not a url', 'AbC_-1234567890xyz')).toBeNull();
  });

  it('hashes only the identifiers that are stored raw', () => {
    const storedHash = sha512Of('ann@example.com');
    const hashes = identifierHashes(
      {
        target: storedHash,
        uuid: ' Cust-1 ',
        prefills: [
          { questionId: 'email', input: storedHash, hashed: true },
          { questionId: 'uuid', input: ' Cust-1 ', hashed: false },
        ],
      },
      'sha512',
    );
    expect(hashes).toEqual([storedHash, sha512Of('cust-1')]);
    expect(
      identifierHashes(
        {
          target: 'Bob@Example.com',
          uuid: null,
          prefills: [{ questionId: 'e', input: 'Bob@Example.com', hashed: false }],
        },
        'sha512',
      ),
    ).toEqual([sha512Of('bob@example.com')]);
  });
});
