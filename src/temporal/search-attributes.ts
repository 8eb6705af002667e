import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SA_STATUS } from '../../workflows/search-attribute-keys.ts';

// Keys shared by the client (set at start), the workflow (status upserts), the dev server and the
// operator-service registration, so the names exist in exactly one place.
export const SA = {
  account: defineSearchAttributeKey('VoiceoiAccount', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('VoiceoiEventType', SearchAttributeType.KEYWORD),
  destination: defineSearchAttributeKey('VoiceoiDestination', SearchAttributeType.KEYWORD),
  callId: defineSearchAttributeKey('VoiceoiCallId', SearchAttributeType.KEYWORD),
  leadId: defineSearchAttributeKey('VoiceoiLeadId', SearchAttributeType.KEYWORD),
  status: SA_STATUS,
} as const;

export const searchAttributeNames = Object.values(SA).map((k) => k.name);
