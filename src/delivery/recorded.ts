import type { Dispatcher } from 'undici';
import type { AttemptRecord, RecordedRequest, RecordedResponse } from '../../workflows/types.ts';

// What one attempt may record, measured as JSON (UTF-8 bytes once escaped), because that is what
// lands in history and in the workflow result: a control character escapes to 6 bytes, so 64 KiB of
// them recorded raw became 384 KiB, and eight such attempts overflowed Temporal's 2 MB payload limit.
// Together an attempt records at most about 64 KiB (workflows/attempt-limits.ts counts on it).
export const RECORDED_LIMITS = {
  /** The request body excerpt, and the response body excerpt, each. */
  body: 16 * 1024,
  /** All request headers, and all response headers, each (names and values). */
  headers: 8 * 1024,
  url: 4 * 1024,
  errorMessage: 2 * 1024,
} as const;

/** Bytes `s` takes inside a JSON string literal (without the quotes), as JSON.stringify writes it. */
export function jsonSize(s: string): number {
  let size = 0;
  for (let i = 0; i < s.length; i++) size += unitSize(s, i);
  return size;
}

function unitSize(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) return 2;
  if (c < 0x20) return 6;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) return isLow(s.charCodeAt(i + 1)) ? 2 : 6; // the pair is 4 bytes: 2 + 2
  if (c >= 0xdc00 && c <= 0xdfff) return isHigh(s.charCodeAt(i - 1)) ? 2 : 6; // a lone surrogate escapes
  return 3;
}
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The longest prefix of `text` whose JSON size fits `limit`, never splitting a surrogate pair. */
export function clip(text: string, limit: number): { text: string; truncated: boolean } {
  let size = 0;
  for (let i = 0; i < text.length; i++) {
    size += unitSize(text, i);
    if (size > limit) {
      const end = isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1)) ? i - 1 : i;
      return { text: text.slice(0, end), truncated: true };
    }
  }
  return { text, truncated: false };
}

export function excerpt(text: string): { body: string; truncated: boolean } {
  const { text: body, truncated } = clip(text, RECORDED_LIMITS.body);
  return { body, truncated };
}

/**
 * Reads a response body up to the excerpt limit in raw bytes and drops the rest; boundRecord then
 * cuts it to the limit as JSON (escaping never shrinks text, so that many raw bytes is enough). A
 * multi-byte character cut at the end decodes to U+FFFD. `truncated`: bytes were left unread.
 */
export async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size > RECORDED_LIMITS.body) {
      cut = true;
      break;
    }
  }
  if (cut) body.destroy();
  return { body: Buffer.concat(chunks).subarray(0, RECORDED_LIMITS.body).toString('utf8'), truncated: cut };
}

/** Headers as one string each; boundRecord bounds them with the rest of the record. */
export function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Marks a header map that was cut; its value says how many headers were left out. */
export const TRUNCATED_HEADERS_KEY = '[truncated]';

/**
 * Headers kept in order until the limit; a value that does not fit is cut, and the headers after it
 * are left out and counted under TRUNCATED_HEADERS_KEY.
 */
export function boundHeaders(h: Record<string, string>): Record<string, string> {
  const entries = Object.entries(h);
  // Room for the braces and the marker itself (its name is cut to 40 characters), so the bound holds with it.
  const budget = RECORDED_LIMITS.headers - 160;
  const out: Record<string, string> = {};
  let used = 0;
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!;
    // Each entry also costs its quotes, colon and comma.
    const name = clip(k, 256).text;
    const room = budget - used - jsonSize(name) - 6;
    if (room <= 0) {
      out[TRUNCATED_HEADERS_KEY] = `${entries.length - i} more headers not recorded`;
      return out;
    }
    const value = clip(v, room);
    out[name] = value.text;
    used += jsonSize(name) + jsonSize(value.text) + 6;
    if (value.truncated) {
      out[TRUNCATED_HEADERS_KEY] = `the value of ${name.slice(0, 40)} was cut${i + 1 < entries.length ? `; ${entries.length - i - 1} more headers not recorded` : ''}`;
      return out;
    }
  }
  return out;
}

/**
 * The record as it goes into history: every field a receiver or a tenant's mapping can make large is
 * within RECORDED_LIMITS. The one place a record is bounded: the attempt's finish (attempt.ts) calls
 * it on whatever stage ended the attempt; the stages before record what they saw, uncut.
 */
export function boundRecord(r: AttemptRecord): AttemptRecord {
  const out: AttemptRecord = { ...r };
  if (r.request) {
    const body = excerpt(r.request.body);
    const request: RecordedRequest = {
      ...r.request,
      method: clip(r.request.method, 16).text,
      url: clip(r.request.url, RECORDED_LIMITS.url).text,
      headers: boundHeaders(r.request.headers),
      body: body.body,
      body_truncated: r.request.body_truncated || body.truncated,
    };
    out.request = request;
  }
  if (r.response) {
    const body = excerpt(r.response.body);
    const response: RecordedResponse = { ...r.response, headers: boundHeaders(r.response.headers), body: body.body, body_truncated: r.response.body_truncated || body.truncated };
    out.response = response;
  }
  if (r.error) out.error = { code: clip(r.error.code, 64).text, message: clip(r.error.message, RECORDED_LIMITS.errorMessage).text };
  return out;
}
