// The mappings in sandboxes/examples/ pass validation and do what their comments say.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callCompleted, callStarted, SAMPLE_ACCOUNT, sampleContext } from '../../sandboxes/examples/sample-events.ts';
import type { MappingLanguage } from '../../sandboxes/index.ts';
import { useEngine } from './engine-fixture.ts';

const ctx = useEngine();

function example(name: string): string {
  return readFileSync(new URL(`../../sandboxes/examples/${name}`, import.meta.url), 'utf8');
}

async function run(language: MappingLanguage, name: string, event: unknown) {
  const source = example(name);
  const validation = await ctx.engine.validate(language, source);
  assert.equal(validation.ok, true, `${name} must validate: ${JSON.stringify(validation)}`);
  const outcome = await ctx.engine.run({ accountId: SAMPLE_ACCOUNT, key: `example:${name}@1`, language, source, event, ctx: sampleContext });
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  if (!outcome.ok) throw new Error('unreachable');
  return outcome;
}

describe('product page example', () => {
  test('call_completed becomes { event, lead_id }', async () => {
    const outcome = await run('typescript', 'product-page.ts', callCompleted());
    assert.deepEqual(outcome.result, { method: 'POST', body: { event: 'call_completed', lead_id: '884' } });
    assert.deepEqual(outcome.logs, ['call completed for lead 884']);
  });

  test('other events are skipped', async () => {
    assert.equal((await run('typescript', 'product-page.ts', callStarted())).result, null);
  });
});

describe('Salesforce lead update', () => {
  test('PATCHes the Lead sObject of the call', async () => {
    const outcome = await run('typescript', 'salesforce-lead-update.ts', callCompleted());
    assert.deepEqual(outcome.result, {
      method: 'PATCH',
      path: '/services/data/v60.0/sobjects/Lead/884',
      body: {
        Status: 'Working - Contacted',
        VoiceOI_Last_Call_Id__c: 'call_7f3e9a21',
        VoiceOI_Last_Call_Minutes__c: 14,
        VoiceOI_Sentiment__c: 'positive',
        VoiceOI_Summary__c: 'Homeowner interested in a 6 kW system; south-west roof, no shade; bill ~$180/month. Wants a callback Thursday.',
        VoiceOI_Recording__c: 'https://recordings.voiceoi.example/call_7f3e9a21.mp3',
      },
    });
  });

  test('a call without a lead is skipped, and says why', async () => {
    const event = callCompleted();
    const { lead_id: _dropped, ...data } = event.data;
    const outcome = await run('typescript', 'salesforce-lead-update.ts', { ...event, data });
    assert.equal(outcome.result, null);
    assert.deepEqual(outcome.logs, ['no lead on call call_7f3e9a21 - nothing to update']);
  });
});

describe('HubSpot call engagement', () => {
  test('logs the call on the contact, with talk time from the transcript', async () => {
    const outcome = await run('typescript', 'hubspot-call-engagement.ts', callCompleted({ transcriptTurns: 10 }));
    const result = outcome.result!;
    assert.equal(result.method, 'POST');
    assert.equal(result.path, '/crm/v3/objects/calls');
    assert.deepEqual(result.headers, { 'X-Mapping-Version': 'map_example@1' });
    const body = result.body as { properties: Record<string, string>; associations: unknown[] };
    assert.equal(body.properties.hs_call_duration, '842600');
    assert.equal(body.properties.hs_call_status, 'COMPLETED');
    // 5 agent turns of 3.9 s.
    assert.match(body.properties.hs_call_body ?? '', /Agent talk time: 20 s of 843 s/);
    assert.deepEqual(body.associations, [
      { to: { id: '884' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] },
    ]);
  });

  test('a qualification mid-call flags the contact', async () => {
    const event = {
      id: 'evt_q',
      type: 'qualification_threshold_met',
      occurred_at: '2025-03-14T15:01:00.000Z',
      data: { call_id: 'call_7f3e9a21', lead_id: '884', score: 82, threshold: 70, criteria: ['homeowner', 'south roof'] },
    };
    const outcome = await run('typescript', 'hubspot-call-engagement.ts', event);
    assert.deepEqual(outcome.result, {
      method: 'PATCH',
      path: '/crm/v3/objects/contacts/884',
      body: { properties: { hs_lead_status: 'OPEN_DEAL', voiceoi_score: 82 } },
    });
  });
});

describe('JSONata filter of short calls', () => {
  test('a call of 30 s or more is sent', async () => {
    const outcome = await run('jsonata', 'filter-short-calls.jsonata', callCompleted({ duration_s: 30 }));
    assert.deepEqual(outcome.result, {
      method: 'POST',
      body: { lead: '884', call: 'call_7f3e9a21', minutes: 0.5, outcome: 'qualified_callback', sentiment: 'positive', callback: true },
    });
  });

  test('a shorter call is skipped', async () => {
    assert.equal((await run('jsonata', 'filter-short-calls.jsonata', callCompleted({ duration_s: 29.9 }))).result, null);
  });

  test('other events are skipped', async () => {
    assert.equal((await run('jsonata', 'filter-short-calls.jsonata', callStarted())).result, null);
  });
});
