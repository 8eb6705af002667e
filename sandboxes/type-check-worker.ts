// Entry of the type-check thread (type-check-thread.ts). The TypeScript checker is synchronous and
// its cost follows the types an upload declares, not its length: it runs here, never on the API's
// event loop, and the host terminates this thread when a check outlives its time.
import { parentPort } from 'node:worker_threads';
import type { CheckRequest, CheckerMessage } from './type-check-protocol.ts';
import { validateMapping } from './validate.ts';

const WARMUP_SOURCE = `import type { VoiceOIEvent, TransformResult } from 'voiceoi';
export default function transform(event: VoiceOIEvent): TransformResult { return { body: event.id }; }`;

const port = parentPort!;

// Loading TypeScript and parsing the ES lib files costs ~0.5 s: paid before "ready", so the time
// limit of the first real check measures only that check.
validateMapping('typescript', WARMUP_SOURCE);
port.postMessage({ t: 'ready' } satisfies CheckerMessage);

port.on('message', (request: CheckRequest) => {
  port.postMessage({ t: 'result', id: request.id, result: validateMapping('typescript', request.source) } satisfies CheckerMessage);
});
