import { defaultPayloadConverter, fromPayloadsAtIndex, SearchAttributeType, type LoadedDataConverter, type Payload } from '@temporalio/common';
import type { google, temporal } from '@temporalio/proto';

// The raw gRPC answers the client's handles do not cover (a listing's page token, a history's
// payloads), read with the SDK's public API only: its decoders for them live under
// `@temporalio/common/lib/...`, which is no contract and moves between releases.

/** The marker name the SDK core records local activities under. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The first payload of a history event (a workflow's input, an activity's result), through the client's codecs. */
export async function decodeFirst<T>(converter: LoadedDataConverter, payloads: Payload[] | null | undefined): Promise<T> {
  let decoded = payloads ?? [];
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return fromPayloadsAtIndex<T>(converter.payloadConverter, 0, decoded);
}

/**
 * A local activity's record in history: a `core_local_activity` marker whose `data` is plain JSON
 * written by the SDK core (its type, never encoded by codecs) and whose `result` (absent when it
 * failed) went through the client's codecs like an activity's result.
 */
export function localActivityOf(e: temporal.api.history.v1.IHistoryEvent): { activityType: string; result: Payload[] | undefined } | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) return undefined;
  const data = marker.details?.data?.payloads?.[0];
  if (!data) return undefined;
  const meta: unknown = defaultPayloadConverter.fromPayload(data);
  const activityType = typeof meta === 'object' && meta !== null && 'activity_type' in meta ? meta.activity_type : undefined;
  if (typeof activityType !== 'string') return undefined;
  return { activityType, result: marker.details?.result?.payloads ?? undefined };
}

/**
 * A keyword search attribute of a listed execution. Search attributes are never encoded by codecs:
 * each is a JSON payload, read by the default converter.
 */
export function keywordOf(indexedFields: Record<string, Payload> | null | undefined, key: { name: string; type: typeof SearchAttributeType.KEYWORD }): string | undefined {
  const payload = indexedFields?.[key.name];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
}

/** A protobuf timestamp as a Date (millisecond precision), or undefined when absent. */
export function dateOf(ts: google.protobuf.ITimestamp | null | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds?.toString() ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000));
}
