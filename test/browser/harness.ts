/**
 * Headless Chromium for SDK tests: Debian's `chromium` driven by playwright-core (no browser
 * download), a fresh empty profile per launch, loopback only. Pages load the SDK's browser bundle
 * (esbuild, from src/client/browser.ts) from a tiny static server on 127.0.0.1, port 0: that
 * server's origin is what the relay's corsOrigins allows or not.
 *
 * Without Chromium the tests fail and say how to install it; XRELAY_SKIP_BROWSER=1 skips them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.XRELAY_CHROMIUM ?? '/usr/bin/chromium';
export const SKIP_BROWSER = process.env.XRELAY_SKIP_BROWSER === '1';
/** Flags for a quiet, loopback-only headless browser (no GPU, no QUIC, no background requests). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (Debian), set XRELAY_CHROMIUM, or XRELAY_SKIP_BROWSER=1`);
}

/** The SDK's browser entry as one ES module (what a web app's bundler would produce). */
export async function bundleSdk(entry = 'src/client/browser.ts'): Promise<string> {
  const out = await build({ entryPoints: [resolve(__dirname, '../..', entry)], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}

export interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

const SDK_PAGE = `<!doctype html><meta charset="utf-8"><title>xrelay sdk</title><link rel="icon" href="data:,">
<script type="module">import * as sdk from './sdk.js'; window.sdk = sdk; window.sdkLoaded = true;</script>`;

/** Serves `files` (path -> [content type, body]) plus /sdk.js and /index.html on 127.0.0.1, port 0. */
export async function staticSite(sdkJs: string, files: Record<string, [string, string | Uint8Array]> = {}): Promise<StaticSite> {
  const all: Record<string, [string, string | Uint8Array]> = { '/sdk.js': ['text/javascript', sdkJs], '/index.html': ['text/html', SDK_PAGE], ...files };
  const server: Server = createServer((req, res) => {
    const f = all[(req.url ?? '/').split('?')[0]!];
    if (f === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TestBrowser {
  context: BrowserContext;
  /** Console errors and page errors of every page, for failure messages. */
  errors: string[];
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(extraArgs: string[] = []): Promise<TestBrowser> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'xrelay-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
  const errors: string[] = [];
  return {
    context,
    errors,
    async open(url: string): Promise<Page> {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      await page.goto(url);
      if (url.endsWith('/index.html')) await page.waitForFunction(() => (globalThis as { sdkLoaded?: boolean }).sdkLoaded === true, undefined, { timeout: 20_000 });
      return page;
    },
    async close(): Promise<void> {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
