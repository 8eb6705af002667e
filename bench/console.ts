// The integrator console on loopback, in Debian's Chromium (playwright-core):
//   - bundle sizes of console/dist (raw and gzip), and what the first page actually downloads;
//   - the bytes the console's files of each first load take on the wire, per Accept-Encoding (the
//     build's .br/.gz variants, console/vite.config.ts), fetched again outside the browser;
//   - first load of /console/destinations, cold (fresh profile, empty cache) and warm (reload);
//   - the Mappings page (Monaco, lazy) cold and warm;
//   - keystroke-to-preview latency of the mapping editor's live preview (POST /v1/mappings/test
//     through the real sandbox): isolated keystrokes, and the last key of a fast burst.
//
//   npm run build:console && node --no-node-snapshot --import tsx bench/console.ts [--runs 5] [--keys 30]
//
// It starts its own Temporal dev server (headless, free port) and the real stack (test/support/stack.ts).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { ensureConsoleBuilt } from '../test/console/support/console-build.ts';
import { startStack, type Stack } from '../test/support/stack.ts';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'console', 'dist');

export interface ConsoleStack {
  stack: Stack;
  apiKey: string;
  stop(): Promise<void>;
}

/** A Temporal dev server and the real stack serving console/dist, with one account. */
export async function startConsoleStack(env: Record<string, string> = {}): Promise<ConsoleStack> {
  ensureConsoleBuilt();
  let dev: DevServer | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    dev = await startDevServer({ namespace: 'default', headless: true });
    process.env.TEMPORAL_ADDRESS = dev.address;
  }
  const stack = await startStack(env);
  const apiKey = (await stack.createAccount('Sunrise Solar BPO')).api_key;
  return {
    stack,
    apiKey,
    async stop() {
      await stack.stop();
      await dev?.stop();
    },
  };
}

/** Signs the browser context in the way the console does: POST /v1/session from the API's origin. */
export async function signIn(context: BrowserContext, url: string, apiKey: string): Promise<void> {
  const r = await context.request.post(`${url}/v1/session`, { data: { api_key: apiKey }, headers: { origin: url } });
  if (r.status() !== 204) throw new Error(`sign-in answered ${r.status()}: ${await r.text()}`);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function bundleSizes() {
  // The build's own .br/.gz variants are counted with their file, not as files.
  const assets = readdirSync(join(dist, 'assets')).filter((f) => !/\.(br|gz)$/.test(f));
  const size = (f: string) => {
    const buf = readFileSync(join(dist, 'assets', f));
    const br = join(dist, 'assets', `${f}.br`);
    return { file: f, raw: buf.length, gzip: gzipSync(buf).length, br: existsSync(br) ? statSync(br).size : undefined };
  };
  const pick = (re: RegExp) => assets.filter((f) => re.test(f)).map(size);
  const total = assets.reduce((n, f) => n + statSync(join(dist, 'assets', f)).size, 0);
  return {
    entry: pick(/^index-.*\.(js|css)$/),
    mappings_page: pick(/^MappingsPage-.*\.(js|css)$/),
    workers: pick(/\.worker-.*\.js$/),
    all_assets_raw: total,
    files: assets.length,
  };
}

/** Loads `path` and waits for `ready`; returns ms, the bytes the page downloaded, and the console files it asked for. */
async function timedLoad(page: Page, url: string, ready: string) {
  let bytes = 0;
  const files = new Set<string>();
  const onResponse = (r: import('playwright-core').Response) => {
    void r.request().sizes().then((s) => (bytes += Math.max(0, s.responseBodySize)), () => undefined);
  };
  // Worker scripts are requested from the page too (with an empty frame), so they are counted here.
  const onRequest = (r: import('playwright-core').Request) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname.startsWith('/console')) files.add(r.url());
  };
  page.on('response', onResponse);
  page.on('request', onRequest);
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.locator(ready).first().waitFor({ timeout: 60_000 });
  const ms = performance.now() - t0;
  await page.waitForLoadState('networkidle');
  page.off('response', onResponse);
  page.off('request', onRequest);
  return { ms, bytes, files: [...files] };
}

const ENCODINGS = { identity: 'identity', gzip: 'gzip', br: 'gzip, deflate, br' } as const;

/** The body bytes on the wire for `url` with this Accept-Encoding (no decompression), and the encoding served. */
function wireBytes(url: string, acceptEncoding: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolveBytes, reject) => {
    request(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolveBytes({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** What the files of a first load weigh on the wire with each Accept-Encoding a browser may send. */
async function transferByEncoding(urls: string[]) {
  const out: Record<string, number> = {};
  for (const [name, accept] of Object.entries(ENCODINGS)) {
    let total = 0;
    for (const url of urls) total += (await wireBytes(url, accept)).bytes;
    out[name] = total;
  }
  return out as Record<keyof typeof ENCODINGS, number>;
}

async function loads(cs: ConsoleStack, runs: number) {
  const url = cs.stack.url;
  const targets = [
    { name: 'destinations', path: '/console/destinations', ready: 'h1:has-text("Destinations")' },
    { name: 'mappings editor', path: '/console/mappings/new', ready: '.monaco-editor .view-lines' },
  ];
  const out: Record<string, { cold_ms: number[]; warm_ms: number[]; cold_bytes: number; warm_bytes: number; files: string[] }> = {};
  for (const t of targets) {
    const r = { cold_ms: [] as number[], warm_ms: [] as number[], cold_bytes: 0, warm_bytes: 0, files: [] as string[] };
    for (let i = 0; i < runs; i++) {
      // Cold: a fresh profile, so nothing is cached. No request interception (it disables the cache).
      const browser = await launchChromium();
      try {
        await signIn(browser.context, url, cs.apiKey);
        const cold = await timedLoad(browser.page, url + t.path, t.ready);
        r.cold_ms.push(cold.ms);
        r.cold_bytes = cold.bytes;
        r.files = cold.files;
        // Warm: the same profile coming back (hashed assets are cached as immutable).
        const warm = await timedLoad(browser.page, url + t.path, t.ready);
        r.warm_ms.push(warm.ms);
        r.warm_bytes = warm.bytes;
      } finally {
        await browser.close();
      }
    }
    out[t.name] = r;
  }
  return out;
}

const PREVIEW_SOURCE = `import type { TransformContext, TransformResult, VoiceOIEvent } from 'voiceoi';

export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  return { body: { type: event.type, id: event.id, tag: 'k' } };
}
`;

/** Keydown (in the page) to the preview showing the text that key produced. */
async function keystrokeLatency(cs: ConsoleStack, keys: number) {
  const browser = await launchChromium();
  try {
    const { page, context } = browser;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cs.stack.url });
    await signIn(context, cs.stack.url, cs.apiKey);
    await page.goto(`${cs.stack.url}/console/mappings/new`);
    await page.locator('.monaco-editor .view-lines').waitFor({ timeout: 60_000 });
    await page.evaluate((t) => (globalThis as any).navigator.clipboard.writeText(t), PREVIEW_SOURCE);
    await page.locator('.monaco-editor .margin').first().click({ position: { x: 10, y: 5 } });
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('ControlOrMeta+V');
    const result = page.getByLabel('Preview result');
    await result.filter({ hasText: '"tag": "k"' }).waitFor({ timeout: 60_000 }).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\npreview: ${await page.getByTestId('preview').textContent()}`);
    });
    // The cursor goes right after the k of 'k' (line 4).
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('End');
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowLeft');

    // Both ends are timed in the page: the keydown, and the mutation that shows the new text. A
    // script string, because tsx would wrap named functions in a helper the page does not have.
    await page.evaluate(`(() => {
      window.__keyAt = 0;
      document.addEventListener('keydown', () => { window.__keyAt = performance.now(); }, true);
      window.__waitForText = (needle) => new Promise((resolve) => {
        const el = document.querySelector('[data-testid=preview]');
        const check = () => {
          if (el.textContent.includes(needle)) { obs.disconnect(); resolve(performance.now() - window.__keyAt); }
        };
        const obs = new MutationObserver(check);
        obs.observe(el, { subtree: true, childList: true, characterData: true });
        check();
      });
    })()`);
    const waitForText = (needle: string) => page.evaluate((n) => (globalThis as any).__waitForText(n) as Promise<number>, needle);

    let tag = 'k';
    const isolated: number[] = [];
    for (let i = 0; i < keys; i++) {
      const ch = String.fromCharCode(97 + (i % 26));
      tag += ch;
      const seen = waitForText(`"tag": "${tag}"`);
      await page.keyboard.press(ch);
      isolated.push(await seen);
      await page.waitForTimeout(400);
    }
    const burst: number[] = [];
    for (let b = 0; b < 5; b++) {
      const word = 'burstword';
      tag += word;
      const seen = waitForText(`"tag": "${tag}"`);
      await page.keyboard.type(word, { delay: 40 });
      burst.push(await seen);
      await page.waitForTimeout(500);
    }
    return { isolated, burst };
  } finally {
    await browser.close();
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const num = (name: string, dflt: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const runs = num('runs', 5);
  const keys = num('keys', 30);
  const sizes = bundleSizes();
  const cs = await startConsoleStack();
  try {
    const load = await loads(cs, runs);
    const transfer: Record<string, Awaited<ReturnType<typeof transferByEncoding>>> = {};
    for (const [name, r] of Object.entries(load)) transfer[name] = await transferByEncoding(r.files);
    const latency = await keystrokeLatency(cs, keys);
    const lines = [
      '## Console (bench/console.ts)',
      '',
      `Bundle (console/dist/assets, ${sizes.files} files, ${kb(sizes.all_assets_raw)} in all, most of it Monaco language chunks loaded on demand):`,
      ...[...sizes.entry, ...sizes.mappings_page, ...sizes.workers].map((f) => `- ${f.file}: ${kb(f.raw)} (gzip ${kb(f.gzip)}${f.br === undefined ? '' : `, br as built ${kb(f.br)}`})`),
      '',
      `First load on loopback (median of ${runs}; until the page's content shows; transferred body bytes of the last run):`,
      ...Object.entries(load).map(
        ([name, r]) => `- ${name}: cold ${quantile(r.cold_ms, 0.5).toFixed(0)} ms (${kb(r.cold_bytes)}), warm ${quantile(r.warm_ms, 0.5).toFixed(0)} ms (${kb(r.warm_bytes)})`,
      ),
      '',
      'The console files of each cold load (workers included) on the wire, by Accept-Encoding:',
      ...Object.entries(transfer).map(
        ([name, t]) => `- ${name} (${load[name]!.files.length} files): identity ${kb(t.identity)}, gzip ${kb(t.gzip)}, br ${kb(t.br)}`,
      ),
      '',
      `Keystroke to preview (${latency.isolated.length} isolated keys: p50 ${quantile(latency.isolated, 0.5).toFixed(0)} ms, p90 ${quantile(latency.isolated, 0.9).toFixed(0)} ms, max ${Math.max(...latency.isolated).toFixed(0)} ms; ` +
        `last key of a 9-key burst at 40 ms/key: p50 ${quantile(latency.burst, 0.5).toFixed(0)} ms over ${latency.burst.length})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cs.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
