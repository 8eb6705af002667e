import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// The workflow bundle must not pull src/ code, so the one key it upserts is declared here and
// src/temporal/search-attributes.ts reuses it.
export const SA_STATUS = defineSearchAttributeKey('VoiceoiStatus', SearchAttributeType.KEYWORD);
