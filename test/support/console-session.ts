import type { TestApi } from './api.ts';

/** A console sign-in as the browser holds it: the cookie, and what GET /v1/session told the page. */
export interface ConsoleSession {
  /** The opaque session id (the cookie's value). */
  id: string;
  /** The raw Set-Cookie line of the sign-in. */
  setCookie: string;
  csrf: string;
  /** Headers of a same-origin console request riding this session (cookie, Origin, CSRF token). */
  headers: Record<string, string>;
  /** Only the cookie: what a cross-site page can make the browser send. */
  cookie: Record<string, string>;
}

/** Signs in with `apiKey` as the console does (POST then GET /v1/session). */
export async function signIn(stack: Pick<TestApi, 'url' | 'call'>, apiKey: string): Promise<ConsoleSession> {
  const res = await stack.call('POST', '/v1/session', { headers: { origin: stack.url }, body: { api_key: apiKey } });
  if (res.status !== 204) throw new Error(`sign-in answered ${res.status}: ${JSON.stringify(res.body)}`);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('voiceoi_session='));
  if (!setCookie) throw new Error('sign-in set no voiceoi_session cookie');
  const id = setCookie.slice('voiceoi_session='.length).split(';')[0]!;
  const cookie = { cookie: `voiceoi_session=${id}` };
  const info = await stack.call('GET', '/v1/session', { headers: cookie });
  if (info.status !== 200) throw new Error(`GET /v1/session answered ${info.status}: ${JSON.stringify(info.body)}`);
  const csrf = info.body.csrf_token as string;
  return { id, setCookie, csrf, cookie, headers: { ...cookie, origin: stack.url, 'x-csrf-token': csrf } };
}
