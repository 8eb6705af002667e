import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startApi, type TestApi } from '../support/api.ts';
import { consoleDist, ensureConsoleBuilt } from '../console/support/console-build.ts';

// The console's assets as the API sends them: the build's precompressed variants
// (console/vite.config.ts) chosen by Accept-Encoding, always decompressing to the built file.

const vary = (h: Record<string, unknown>) => String(h.vary ?? '').toLowerCase().split(/\s*,\s*/);

describe('the console assets, precompressed', () => {
  let app: TestApi;
  let entry: string;
  before(async () => {
    ensureConsoleBuilt();
    app = await startApi({ VOICEOI_CONSOLE_DIR: consoleDist });
    entry = /src="\/console\/(assets\/index-[^"]+\.js)"/.exec(readFileSync(join(consoleDist, 'index.html'), 'utf8'))![1]!;
  });
  after(() => app.stop());

  const get = (path: string, acceptEncoding?: string) =>
    app.api.inject({ method: 'GET', url: path, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

  test('a browser that accepts br gets the brotli file, which decompresses to the built one', async () => {
    const built = readFileSync(join(consoleDist, entry));
    // What Chromium sends: br is preferred over gzip.
    const r = await get(`/console/${entry}`, 'gzip, deflate, br, zstd');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-encoding'], 'br');
    assert.match(String(r.headers['content-type']), /javascript/);
    assert.ok(vary(r.headers).includes('accept-encoding'), String(r.headers.vary));
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(r.rawPayload.length < built.length / 3, `${r.rawPayload.length} bytes sent for ${built.length}`);
    assert.equal(Number(r.headers['content-length']), r.rawPayload.length);
    assert.ok(brotliDecompressSync(r.rawPayload).equals(built));
  });

  test('gzip only: the gzip file; br refused with q=0: gzip too', async () => {
    const built = readFileSync(join(consoleDist, entry));
    for (const accept of ['gzip', 'br;q=0, gzip']) {
      const r = await get(`/console/${entry}`, accept);
      assert.equal(r.headers['content-encoding'], 'gzip', accept);
      assert.ok(gunzipSync(r.rawPayload).equals(built), accept);
    }
  });

  test('without Accept-Encoding (or identity only) the file as built, still marked as varying', async () => {
    const built = readFileSync(join(consoleDist, entry));
    for (const accept of [undefined, 'identity']) {
      const r = await get(`/console/${entry}`, accept);
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-encoding'], undefined, String(accept));
      assert.ok(r.rawPayload.equals(built), String(accept));
      // A shared cache must not hand this answer to a browser that accepts br, nor the reverse.
      assert.ok(vary(r.headers).includes('accept-encoding'), String(accept));
      assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    }
  });

  test('each encoding has its own ETag, so a revalidation never mixes them', async () => {
    const br = await get(`/console/${entry}`, 'br');
    const plain = await get(`/console/${entry}`);
    assert.ok(br.headers.etag && plain.headers.etag);
    assert.notEqual(br.headers.etag, plain.headers.etag);
  });

  test('index.html, for /console and every client-side route, is revalidated on each load', async () => {
    const built = readFileSync(join(consoleDist, 'index.html'));
    for (const path of ['/console', '/console/destinations', '/console/mappings/map_1']) {
      const r = await get(path, 'gzip, deflate, br');
      assert.equal(r.statusCode, 200, path);
      assert.equal(r.headers['cache-control'], 'no-cache', path);
      assert.ok(vary(r.headers).includes('accept-encoding'), path);
      const body = r.headers['content-encoding'] === 'br' ? brotliDecompressSync(r.rawPayload) : r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.rawPayload) : r.rawPayload;
      assert.ok(body.equals(built), path);
      assert.match(String(r.headers['content-type']), /^text\/html/, path);
    }
  });
});
