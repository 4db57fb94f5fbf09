/**
 * The browser entry bundles for the browser: esbuild (platform browser, format esm) from the TS
 * sources, failing on any Node built-in the SDK would pull in, and printing the bundle's size (the
 * README quotes it). Also the static rule behind it: the SDK's portable modules import no Node
 * built-in, no `ws`, and nothing of the relay's planes (only src/wire and the error-code type).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const CLIENT = join(ROOT, 'src/client');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** The Node flavour: the only SDK modules allowed to import node:* and `ws`. */
const NODE_ONLY = new Set(['runtime-node.ts', 'node.ts', 'index.ts', 'call/call-client.ts', 'mailbox/mailbox-reader.ts']);

export async function bundleBrowserEntry(minify: boolean): Promise<{ code: string; inputs: string[]; disabled: string[]; sdkBytes: number }> {
  const out = await build({
    entryPoints: [join(CLIENT, 'browser.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(out.metafile.inputs);
  // "(disabled):crypto": a dependency's own package.json `browser` map replaced that require with {}.
  const disabled = inputs.filter((i) => i.startsWith('(disabled):'));
  const parts = Object.values(out.metafile.outputs)[0]!.inputs;
  const sdkBytes = Object.entries(parts).reduce((n, [path, p]) => n + (path.startsWith('src/') ? p.bytesInOutput : 0), 0);
  return { code: out.outputFiles[0]!.text, inputs, disabled, sdkBytes };
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the SDK in browsers', () => {
  it('bundles src/client/browser.ts for the browser with no Node built-in, and reports its size', async () => {
    const { code, inputs, disabled, sdkBytes } = await bundleBrowserEntry(true);
    const builtinInputs = inputs.filter((i) => BUILTINS.has(i) || i.startsWith('node:'));
    expect(builtinInputs).toEqual([]);
    // Only libsodium's guarded Node fallback is disabled, by libsodium's own browser map.
    expect(disabled.every((d) => d === '(disabled):crypto')).toBe(true);
    const ours = inputs.filter((i) => !i.includes('node_modules') && !i.startsWith('('));
    expect(ours.some((i) => i.endsWith('runtime-web.ts'))).toBe(true);
    expect(ours.filter((i) => /runtime-node|\/ws\//.test(i))).toEqual([]);
    expect(ours.filter((i) => !i.startsWith('src/client/') && !i.startsWith('src/wire/'))).toEqual([]);
    expect(inputs.some((i) => i.includes('node_modules/ws/'))).toBe(false);
    const gz = gzipSync(code).length;
    console.log(`browser bundle (esbuild, minified, esm): ${(code.length / 1024).toFixed(1)} KiB, gzip ${(gz / 1024).toFixed(1)} KiB (the SDK's own code ${(sdkBytes / 1024).toFixed(1)} KiB, the rest libsodium); ${ours.length} SDK modules; disabled by dependencies: ${disabled.join(', ') || 'none'}`);
    expect(code.length).toBeGreaterThan(10_000);
  });

  it('bundles the e2ee worker (RTCRtpScriptTransform) for the browser with no Node built-in, and reports its size', async () => {
    const out = await build({ entryPoints: [join(CLIENT, 'rtc/e2ee-worker.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => BUILTINS.has(i) || i.startsWith('node:'))).toEqual([]);
    const ours = inputs.filter((i) => !i.includes('node_modules') && !i.startsWith('('));
    expect(ours.filter((i) => !i.startsWith('src/client/') && !i.startsWith('src/wire/'))).toEqual([]);
    // The worker carries the sealing, not the call, mailbox or WebSocket code.
    expect(ours.filter((i) => /rtc-call|mailbox|cell-transport|runtime-web/.test(i))).toEqual([]);
    const code = out.outputFiles[0]!.text;
    console.log(`e2ee worker bundle (esbuild, minified, esm): ${(code.length / 1024).toFixed(1)} KiB, gzip ${(gzipSync(code).length / 1024).toFixed(1)} KiB; ${ours.length} SDK modules`);
    expect(code).toContain('onrtctransform');
  });

  it('the browser bundle names its worker beside itself (bundlers follow new URL(..., import.meta.url))', async () => {
    const { code } = await bundleBrowserEntry(false);
    expect(code).toMatch(/new URL\(["']\.\/e2ee-worker\.js["'], import\.meta\.url\)/);
  });

  it('the bundle fails when a Node built-in sneaks in (the check can fail)', async () => {
    await expect(
      build({ stdin: { contents: "import { createSocket } from 'node:dgram'; console.log(createSocket);", resolveDir: CLIENT }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }),
    ).rejects.toThrow(/node:dgram/);
  });

  it('portable SDK modules import no Node built-in, no ws, and no relay plane', () => {
    const bad: string[] = [];
    for (const file of tsFiles(CLIENT)) {
      const rel = relative(CLIENT, file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s*['"]([^'"]+)['"]/gm)) {
        const spec = m[3]!;
        const typeOnly = m[2] !== undefined;
        if (!NODE_ONLY.has(rel) && (BUILTINS.has(spec) || spec === 'ws')) bad.push(`${rel} imports ${spec}`);
        if (spec.startsWith('.')) {
          const target = relative(join(ROOT, 'src'), resolve(dirname(file), spec));
          const inside = target.startsWith('client/') || target.startsWith('wire/') || (typeOnly && target === 'errors.js');
          if (!inside) bad.push(`${rel} imports ${spec} (${target})`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it("public types compile in a strict browser app with no @types at all (no ws, no Node, no libsodium types)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'xrelay-dts-'));
    try {
      const tsc = join(ROOT, 'node_modules/.bin/tsc');
      const common = ['--ignoreConfig', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict'];
      execFileSync(tsc, [...common, '--declaration', '--emitDeclarationOnly', '--outDir', join(dir, 'out'), '--rootDir', ROOT, '--lib', 'es2022', '--types', 'node', '--skipLibCheck', join(CLIENT, 'browser.ts'), join(CLIENT, 'node.ts')], { cwd: ROOT, stdio: 'pipe' });
      mkdirSync(join(dir, 'app'));
      writeFileSync(
        join(dir, 'app/app.ts'),
        `import { CallClient, MailboxReader, RtcCall, XrelayClientError, ready, sealEnvelope, type CallFrame, type ReceivedEnvelope, type RtcMember } from '../out/src/client/browser.js';
export async function main(relay: string, secret: Uint8Array, keys: { publicKey: Uint8Array; secretKey: Uint8Array; mailboxId: Uint8Array }): Promise<string> {
  await ready();
  const sealed: Uint8Array = sealEnvelope(keys.publicKey, { kind: 'chat', body: new Uint8Array(1) });
  const reader = new MailboxReader({ relayUrl: relay, keys });
  reader.on('envelope', (e: ReceivedEnvelope) => reader.ack([e.id]));
  try {
    const call = await CallClient.join({ relay, callSecret: secret });
    call.on('frame', (f: CallFrame) => call.send(f.data));
    const stream: MediaStream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const rtc = await RtcCall.join({ relay, callSecret: secret, stream, slots: 3 });
    rtc.on('member', (m: RtcMember) => { const el = new Audio(); el.srcObject = m.stream as MediaStream; });
    await rtc.leave();
    return String(sealed.length);
  } catch (e) {
    return e instanceof XrelayClientError ? e.code : 'other';
  }
}
`,
      );
      let out = '';
      try {
        execFileSync(tsc, [...common, '--noEmit', '--types', '', '--lib', 'es2022,dom', join(dir, 'app/app.ts')], { cwd: join(dir, 'app'), stdio: 'pipe', encoding: 'utf8' });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout ?? err);
      }
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("the package's exports pick node.js in Node and browser.js for browser bundlers (needs `npm run build`)", async () => {
    const resolveIn = (flags: string[]): string =>
      execFileSync(process.execPath, [...flags, '--input-type=module', '-e', "console.log(import.meta.resolve('xentrop-relay/client'))"], { cwd: ROOT, encoding: 'utf8' }).trim();
    expect(resolveIn([])).toMatch(/\/dist\/src\/client\/node\.js$/);
    expect(resolveIn(['--conditions=browser'])).toMatch(/\/dist\/src\/client\/browser\.js$/);
    const out = await build({ stdin: { contents: "export * from 'xentrop-relay/client';", resolveDir: ROOT }, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs).toContain('dist/src/client/browser.js');
    expect(inputs.filter((i) => /runtime-node|node_modules\/ws\//.test(i))).toEqual([]);
  });
});
