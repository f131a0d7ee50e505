import type { LogLevel } from '../../storage/schema.js';

/** A DIWEF entry of the dispatch request, before its account, batch and dispatch are known. */
export interface CatalogueEntry {
  level: LogLevel;
  message: string;
}

/** Most identifiers one entry lists; more are counted, so an 18,000-record request logs a bounded line. */
const MAX_LISTED = 100;

function listed(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_LISTED).join(' ');
  return ids.length > MAX_LISTED ? `${shown} … and ${ids.length - MAX_LISTED} more` : shown;
}

/**
 * The dispatch request's log catalogue (§6.1.1 of the architecture document): the original
 * module's levels and texts, word for word, so notification rules and people reading both find the
 * same lines. Identifiers are listed as stored, hashed when PII.
 */
export const dispatchRequestLog = {
  tooManyRecords: (max: number, received: number): CatalogueEntry => ({
    level: 'Error',
    message: `The API cannot process more than ${max.toLocaleString('en-US')} records in a single request. Please split the batch into multiple requests and try again. Total records received is - ${received}`,
  }),
  tooManyDispatches: (max: number, received: number): CatalogueEntry => ({
    level: 'Error',
    message: `The API cannot process more than ${max} dispatches in a single request. Please ensure dispatch requests are spread out over time. Total dispatches received is - ${received}`,
  }),
  authenticationFailed: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'Authentication Bearer token in the incoming request header is invalid. Please ensure you are using correct user credentials or a valid Authentication Bearer token.',
  }),
  samplingNotConfigured: (): CatalogueEntry => ({
    level: 'Warning',
    message:
      'Sampling type is not configured hence all records in the payload are processed. Please ensure sampling type is configured in ACM backend using the “extendedproperties” API.',
  }),
  hashAlgorithm: (algorithm: string): CatalogueEntry => ({
    level: 'Debug',
    message: `Hashing algorithm for PII is configured as: ${algorithm}`,
  }),
  dispatchNotValid: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'Dispatch passed in the API request is not valid. Please ensure a valid dispatch is configured in Account Configuration Module and same is passed in the API request as well.',
  }),
  dispatchPaused: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'Dispatch configured to be used to send invites is paused. Invites will not go out unless this is resolved. Please sign in to Experience Management and un-pause the Dispatch. Also note, any changes in Experience Management may take up to an hour to reflect in Dispatch Request API.',
  }),
  policyPaused: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'Delivery Policy configured under Dispatch to be used to send invites is paused. Invites will not go out unless this is resolved. Please sign in to Experience Management and un-pause the Delivery Policy. Also note, any changes in Experience Management may take up to an hour to reflect in Dispatch Request API.',
  }),
  uuidQuestionMissing: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'Unique User Indentifier (UUID) configured in Delivery Policy used in Dispatch is not availabel in the questionnaire. This will impact fatigue rules and invites may go out to customers for multiple surveys. Please ensure the UUID is added as a pre-fill question in the questionnaire.',
  }),
  invalidChannels: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'An error occured while using the Delivery Policy configured under Dispatch . Please make sure the Delivery Policy is configured correctly with supported channels.',
  }),
  noValidDispatch: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'No valid dispatch in the batch found. Please setup a valid dispatch configuration in Account Configuration Module.',
  }),
  recordsReceived: (count: number): CatalogueEntry => ({
    level: 'Debug',
    message: `${count} records accepted for further validation`,
  }),
  allRejected: (): CatalogueEntry => ({
    level: 'Error',
    message:
      'All the records received in the API requests are rejected. Please ensure the channels and UUID are configured correctly in the Delivery policy in Experience Management. Also ensure the Email or SMS values are sent in correct format.',
  }),
  prefillsIgnored: (questionIds: readonly string[]): CatalogueEntry => ({
    level: 'Warning',
    message: `Some of the prefills with following question IDs are ignored while processing the records. This may be due to missing question in the questionnaire. Please verify and reconfigure this in the Experience Management. ${listed(questionIds)}`,
  }),
  rejectedAddress: (uuids: readonly string[]): CatalogueEntry => ({
    level: 'Fatal',
    message: `Invites were not sent to the following records from the data file: ${listed(uuids)}`,
  }),
  rejectedNoIdentifier: (): CatalogueEntry => ({
    level: 'Fatal',
    message:
      'Invites were not sent for some records with missing email or mobile number. Please check the data file for missing data for more details.',
  }),
  suppressed: (uuids: readonly string[]): CatalogueEntry => ({
    level: 'Information',
    message: `Invites were not sent to the following records from the data file: ${listed(uuids)}`,
  }),
  sampledOut: (uuids: readonly string[]): CatalogueEntry => ({
    level: 'Information',
    message: `Invites were not sent to the following records from the data file as per fatigue rules. Below is a list of records for which invites were not sent. ${listed(uuids)}`,
  }),
  queued: (count: number): CatalogueEntry => ({
    level: 'Debug',
    message: `${count} records added to queue pending_invitations for bulk token generation`,
  }),
  accepted: (accepted: number, rejected: number): CatalogueEntry => ({
    level: 'Debug',
    message:
      rejected === 0
        ? `Accepted for processing ${accepted} records`
        : `Accepted for processing ${accepted}, Rejected ${rejected}`,
  }),
  multipleStatuses: (): CatalogueEntry => ({ level: 'Debug', message: 'Multiple dispatch status returned' }),
} as const;
