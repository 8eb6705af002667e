// Sample events for the test panel and the catalog page: the API's own samples (src/events/samples.ts,
// the ones a test send delivers), bundled at build time so both always agree with the catalog.
// (GET /v1/event-types answers no samples, whatever the console's old hand-written types said.)
import type { EventType } from '../../src/events/catalog.ts';
import { sampleEvent as catalogSample } from '../../src/events/samples.ts';

export function sampleEvent(type: string): Record<string, unknown> {
  const id = `evt_sample_${type.replace(/\W/g, '_')}`;
  const sample = catalogSample(type as EventType, id, '2025-03-14T15:09:26.535Z') as unknown as Record<string, unknown>;
  // A type this build does not know yet (the API is newer): an envelope to fill in.
  return sample.data === undefined ? { ...sample, data: {} } : sample;
}
