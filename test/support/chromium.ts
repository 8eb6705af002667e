import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { installDebianPackage } from './debian-package.ts';

/** Debian's Chromium: the one browser the suite drives (playwright-core ships none). */
export const CHROMIUM = '/usr/bin/chromium';

/** Installs the `chromium` package when it is missing, so a fresh CI machine can run the browser tests. */
export function ensureChromium(): string {
  installDebianPackage('chromium', () => existsSync(CHROMIUM));
  return CHROMIUM;
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Chromium {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (no cache, no cookies) and one page. */
export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<Chromium> {
  const executablePath = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'voiceoi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RecordedRequest {
  url: string;
  method: string;
  resourceType: string;
  navigation: boolean;
  /** The document that issued it (empty for worker requests). */
  from: string;
}

export interface PageRecorder {
  requests: RecordedRequest[];
  /** console.error calls, uncaught exceptions and browser errors (CSP violations…), with the page URL. */
  errors: { text: string; page: string }[];
  /** Responses with their status, to tell expected API refusals from failures. */
  responses: { url: string; status: number }[];
}

/**
 * Records every request, response and error of one page. Requests that leave loopback are aborted
 * (and still recorded), so a test never depends on, or leaks to, the outside network.
 */
export async function recordPage(page: Page): Promise<PageRecorder> {
  const rec: PageRecorder = { requests: [], errors: [], responses: [] };
  const fromOf = (r: Request) => {
    try {
      return r.frame().url();
    } catch {
      return '';
    }
  };
  page.on('request', (r) => rec.requests.push({ url: r.url(), method: r.method(), resourceType: r.resourceType(), navigation: r.isNavigationRequest(), from: fromOf(r) }));
  page.on('response', (r) => rec.responses.push({ url: r.url(), status: r.status() }));
  page.on('console', (m) => {
    if (m.type() === 'error') rec.errors.push({ text: m.text(), page: page.url() });
  });
  page.on('pageerror', (e) => rec.errors.push({ text: `uncaught: ${e.message}`, page: page.url() }));
  await page.route(
    (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && (url.protocol === 'http:' || url.protocol === 'https:'),
    (route) => route.abort('blockedbyclient'),
  );
  return rec;
}
