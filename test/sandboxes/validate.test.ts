// validateMapping: what POST/PUT /v1/mappings answers, with positions in the engineer's source.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateMapping, type ValidationResult } from '../../sandboxes/index.ts';

function errorsOf(result: ValidationResult) {
  assert.equal(result.ok, false, 'expected validation errors');
  if (result.ok) throw new Error('unreachable');
  return result.errors;
}

const GOOD = `import type { VoiceOIEvent, TransformContext, TransformResult } from 'voiceoi';

export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  if (event.type !== 'call_completed') return null;
  ctx.log('lead', event.data.lead_id);
  console.log(event.data.sentiment.label);
  return { body: { event: event.type, lead_id: event.data.lead_id }, method: 'PUT', query: { src: 'voiceoi' } };
}
`;

describe('TypeScript', () => {
  test('a correct mapping passes and returns the JavaScript that will run', () => {
    const result = validateMapping('typescript', GOOD);
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    assert.match(result.compiled ?? '', /function transform\(event, ctx\)/);
    assert.doesNotMatch(result.compiled ?? '', /VoiceOIEvent|: TransformResult/);
  });

  test('a syntax error: syntax_error with line and column', () => {
    const [error] = errorsOf(validateMapping('typescript', `export default function transform(event) {\n  return { body: event.id ;\n}\n`));
    assert.equal(error?.code, 'syntax_error');
    assert.equal(error?.line, 2);
    assert.equal(error?.column, 27);
    assert.match(error?.message ?? '', /'}' expected|expected/i);
  });

  test('a type error: type_error at the offending expression', () => {
    const source = `import type { VoiceOIEvent } from 'voiceoi';
export default function transform(event: VoiceOIEvent) {
  if (event.type !== 'call_completed') return null;
  const minutes: string = event.data.duration_s / 60;
  return { body: minutes };
}`;
    const [error] = errorsOf(validateMapping('typescript', source));
    assert.equal(error?.code, 'type_error');
    assert.equal(error?.line, 4);
    assert.equal(error?.column, 9);
    assert.match(error?.message ?? '', /Type 'number' is not assignable to type 'string'/);
  });

  test('the event union narrows on type: a field of another event is a type error', () => {
    const source = `import type { VoiceOIEvent } from 'voiceoi';
export default function transform(event: VoiceOIEvent) {
  return { body: event.data.duration_s.toFixed(0) };
}`;
    const [error] = errorsOf(validateMapping('typescript', source));
    assert.equal(error?.code, 'type_error');
    assert.equal(error?.line, 3);
  });

  test('a mapping over every call event reads data.call_id unnarrowed; an operational event is typed on its own', () => {
    const callOnly = `import type { VoiceOIEvent, TransformResult } from 'voiceoi';
export default function transform(event: VoiceOIEvent): TransformResult { return { body: { call: event.data.call_id } }; }
`;
    assert.equal(validateMapping('typescript', callOnly).ok, true);
    const alert = `import type { DeliveryFailedEvent, TransformResult } from 'voiceoi';
export default function transform(event: DeliveryFailedEvent): TransformResult { return { body: { text: event.data.reason } }; }
`;
    assert.equal(validateMapping('typescript', alert).ok, true);
    const wrong = `import type { AnyEvent, TransformResult } from 'voiceoi';
export default function transform(event: AnyEvent): TransformResult { return { body: { call: event.data.call_id } }; }
`;
    assert.equal(errorsOf(validateMapping('typescript', wrong))[0]!.code, 'type_error');
  });

  test('no default export: missing_default_export', () => {
    const [error] = errorsOf(validateMapping('typescript', `export function transform() { return null; }`));
    assert.equal(error?.code, 'missing_default_export');
    assert.equal(error?.line, 1);
  });

  test('a default export that is not a function: missing_default_export', () => {
    const [error] = errorsOf(validateMapping('typescript', `const config = { body: 1 };\nexport default config;`));
    assert.equal(error?.code, 'missing_default_export');
    assert.equal(error?.line, 2);
  });

  test('returning something that is not a TransformResult is a type error', () => {
    const [error] = errorsOf(validateMapping('typescript', `export default function transform() {\n  return { event: 'call_completed', lead_id: '884' };\n}`));
    assert.equal(error?.code, 'type_error');
    assert.match(error?.message ?? '', /must return TransformResult/);
  });

  test('a narrower event parameter is allowed; an unrelated one is not', () => {
    const narrow = `import type { CallCompletedEvent, TransformResult } from 'voiceoi';
export default async (event: CallCompletedEvent): Promise<TransformResult> => ({ body: event.data.summary, method: 'PATCH' });`;
    assert.equal(validateMapping('typescript', narrow).ok, true);
    const [error] = errorsOf(validateMapping('typescript', `export default function transform(event: number) { return null; }`));
    assert.match(error?.message ?? '', /first parameter must accept a VoiceOIEvent/);
  });

  test('imports other than types from voiceoi are refused', () => {
    const errors = errorsOf(validateMapping('typescript', `import axios from 'axios';\nimport 'voiceoi';\nexport default () => null;`));
    assert.deepEqual(
      errors.map((e) => [e.line, e.code]),
      [
        [1, 'type_error'],
        [2, 'type_error'],
      ],
    );
    assert.match(errors[0]?.message ?? '', /'axios' cannot be imported/);
  });

  test('Node and DOM globals are not declared: they do not exist in the sandbox', () => {
    const [error] = errorsOf(validateMapping('typescript', `export default () => ({ body: process.env.SECRET ?? fetch('x') })`));
    assert.equal(error?.code, 'type_error');
    assert.match(error?.message ?? '', /Cannot find name 'process'/);
  });

  test('a warm check costs milliseconds, not seconds', () => {
    validateMapping('typescript', GOOD);
    const started = performance.now();
    for (let i = 0; i < 5; i++) validateMapping('typescript', `${GOOD}\n// ${i}`);
    const each = (performance.now() - started) / 5;
    // ~10 ms on an idle machine; generous for a loaded CI box.
    assert.ok(each < 250, `a check took ${each.toFixed(0)} ms`);
  });
});

describe('JSONata', () => {
  test('a correct expression passes', () => {
    assert.deepEqual(validateMapping('jsonata', `data.duration_s >= 30 ? { "lead": data.lead_id }`), { ok: true });
  });

  test('a parse error: the line and column of the offending token', () => {
    const [error] = errorsOf(validateMapping('jsonata', `{\n  "lead": data.lead_id,,\n  "x": 1\n}`));
    assert.equal(error?.code, 'syntax_error');
    assert.equal(error?.line, 2);
    assert.equal(error?.column, 24); // the second comma
    assert.match(error?.message ?? '', /S0211/);
  });

  test('an unterminated expression points at its end', () => {
    const source = `data.transcript[speaker = "agent"`;
    const [error] = errorsOf(validateMapping('jsonata', source));
    assert.equal(error?.line, 1);
    assert.equal(error?.column, source.length + 1);
  });
});

test('empty sources are refused for both languages', () => {
  for (const language of ['typescript', 'jsonata'] as const) {
    const [error] = errorsOf(validateMapping(language, '   \n'));
    assert.equal(error?.code, 'syntax_error');
  }
});
