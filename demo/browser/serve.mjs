// `npm run demo:browser`: a relay on loopback (media plane on, corsOrigins = the page's origin) and a
// tiny static server for the call page (demo/browser/index.html + call-app.js bundled with the
// SDK's browser entry by esbuild). Open the printed link in two tabs (headphones: two tabs on one
// machine hear each other's speakers). Needs a build (`npm run build`) and the dev dependencies.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { loadConfig } from '../../dist/src/config/load.js';
import { startRelay } from '../../dist/src/relay.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts the page server and the relay; ports 0 pick free ones (tests). */
export async function startCallDemo({ relayPort = 7800, pagePort = 7801, udpPort = 7802, logLevel = 'info' } = {}) {
  const app = await build({ entryPoints: [join(here, 'call-app.js')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
  const files = {
    '/': ['text/html', readFileSync(join(here, 'index.html'))],
    '/call-app.js': ['text/javascript', app.outputFiles[0].text],
  };
  const pages = createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (f === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise((r) => pages.listen(pagePort, '127.0.0.1', r));
  const pageOrigin = `http://127.0.0.1:${pages.address().port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-demo-'));
  const config = loadConfig({
    file: { host: '127.0.0.1', httpPort: relayPort, dataDir, logLevel, corsOrigins: [pageOrigin], media: { enabled: true, udpPort }, turn: { enabled: false } },
  });
  const relay = await startRelay(config);
  return {
    pageUrl: `${pageOrigin}/?relay=${encodeURIComponent(relay.url)}`,
    relay,
    async close() {
      await relay.close();
      pages.closeAllConnections();
      await new Promise((r) => pages.close(r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startCallDemo({ logLevel: process.env.XRELAY_LOG_LEVEL ?? 'warn' });
  console.log(`relay: ${demo.relay.url} (corsOrigins: the page's origin only)`);
  console.log(`open in two tabs, the same link (the #secret is added on first join):\n  ${demo.pageUrl}`);
  const stop = () => demo.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
