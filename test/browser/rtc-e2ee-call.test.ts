/**
 * Issue 12: RtcCall in Chromium, end to end except for the relay edge (another branch). A small
 * HTTP server on 127.0.0.1 stands in for the edge's signalling (WHIP-style POST of the offer,
 * 201 + Location + SDP answer, DELETE to leave, CORS as the relay does it) and hands each offer to
 * a second page whose RTCPeerConnection answers as the contract says the edge would for a room
 * with one other member (its own sealed microphone on the client's first receive slot, a roster
 * on `xrelay`). Checks: the offer on the wire (room id, content type, m-line order, Opus
 * usedtx=0, no forbidden extension), the member's audio decoding through the opener, `member`
 * and `left` events, DELETE on leave, and the error codes (`room_full` from the server, `network`
 * without one).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sodium from 'libsodium-wrappers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomIdOf } from '../../src/client/call/e2e-keys.js';
import { checkRtcOffer, forbiddenExtensionsIn, opusParamsIn, rtcSections } from '../../src/client/rtc/sdp-munge.js';
import { encodeBase64url } from '../../src/wire/b64url.js';
import { SKIP_BROWSER, launchChromium, type StaticSite, type TestBrowser } from './harness.js';
import { RTC_FLAGS, rtcSite } from './rtc-site.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page functions run in the browser */
declare const window: any;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let standInPageRef: Page | undefined;
/** Polls the page's call log from Node until an event of `kind` is in it. */
async function until(page: Page, kind: string, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    if (await page.evaluate((k) => window.callLog.some((e: any) => e[0] === k), kind)) return;
    await sleep(100);
  }
  const state = await page.evaluate(async () => [window.callLog, window.call?.stats, window.call?.epoch, window.call?.pc.connectionState, window.rosters, window.call?.pc.getTransceivers().map((t: any) => [t.mid, t.direction, t.currentDirection])]);
  console.log('STANDIN', JSON.stringify(await standInPageRef!.evaluate(async () => [window.standIn.pc.getTransceivers().map((t: any) => [t.mid, t.direction, t.currentDirection, t.sender.track?.kind, !!t.sender.transform]), await window.standIn.e2ee.report()])));
  throw new Error(`no '${kind}' event in ${ms} ms: ${JSON.stringify(state)}`);
}

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The signalling stand-in: `answer(offer)` makes the SDP answer; rooms in `full` get 409 room_full. */
async function edgeStandIn(origin: string, answer: (offer: string) => Promise<string>, full: Set<string>): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const cors = { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'location', vary: 'origin' };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST, DELETE', 'access-control-allow-headers': 'content-type' }).end();
        return;
      }
      const body = await bodyOf(req);
      seen.push({ method: req.method!, path: req.url!, contentType: req.headers['content-type'], body });
      const room = /^\/v1\/rtc\/rooms\/([^/?]+)/.exec(req.url!)?.[1];
      if (req.method === 'POST' && room !== undefined) {
        if (full.has(room)) {
          res.writeHead(409, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'room_full', message: 'room is full' } }));
          return;
        }
        const sdp = await answer(body);
        res.writeHead(201, { ...cors, 'content-type': 'application/sdp', location: '/v1/rtc/sessions/c2Vzc2lvbi0xMjM0NTY3OA' }).end(sdp);
        return;
      }
      if (req.method === 'DELETE' && req.url === '/v1/rtc/sessions/c2Vzc2lvbi0xMjM0NTY3OA') return void res.writeHead(204, cors).end();
      res.writeHead(404, cors).end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe.skipIf(SKIP_BROWSER)('RtcCall in Chromium against a signalling stand-in', () => {
  let site: StaticSite;
  let browser: TestBrowser;
  let edge: Awaited<ReturnType<typeof edgeStandIn>>;
  let standInPage: Page;
  let secret: number[];
  const full = new Set<string>();

  beforeAll(async () => {
    await sodium.ready;
    site = await rtcSite();
    browser = await launchChromium(RTC_FLAGS);
    standInPage = await browser.open(`${site.origin}/index.html`);
    standInPageRef = standInPage;
    edge = await edgeStandIn(site.origin, (offer) => standInPage.evaluate((o) => window.standInAnswer(o), { offer, secret }), full);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    edge?.server.closeAllConnections();
    await new Promise((r) => edge?.server.close(r));
  });

  for (const transform of ['script', 'encoded-streams'] as const) {
    it(`joins (${transform}): the contract's offer, the member's sealed audio decodes, member/left events, DELETE on leave`, async () => {
      secret = [...randomBytes(32)];
      const page = await browser.open(`${site.origin}/index.html`);
      const joined = await page.evaluate((o) => window.rtcJoin(o), { relay: edge.url, secret, slots: 2, transform });
      expect(joined).toEqual({ ok: true });
      const post = edge.seen.filter((s) => s.method === 'POST').at(-1)!;
      const room = encodeBase64url(roomIdOf(Uint8Array.from(secret)));
      expect(post.path).toBe(`/v1/rtc/rooms/${room}?profile=audio`);
      expect(post.contentType).toBe('application/sdp');
      expect(checkRtcOffer(post.body, { video: false, slots: 2 })).toEqual([]);
      expect(forbiddenExtensionsIn(post.body)).toEqual([]);
      expect(opusParamsIn(post.body).every((p) => p.usedtx === '0' && p.cbr === '1')).toBe(true);

      await until(page, 'member', 10_000);
      await sleep(3000);
      const r = await page.evaluate(async () => {
        const inbound: any[] = [];
        (await window.call.pc.getStats()).forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound.push(s);
        });
        return { log: window.callLog, e2e: await window.call.e2eStats(), inbound, stats: window.call.stats };
      });
      const up = await standInPage.evaluate(() => window.standIn.e2ee.report());
      const member = r.inbound.find((s: any) => s.packetsReceived > 0);
      console.log(
        `${transform}: member audio ${member?.packetsReceived} packets, concealed ${member?.concealedSamples}/${member?.totalSamplesReceived}, energy ${member?.totalAudioEnergy?.toFixed(3)}; ` +
          `client opened ${r.e2e.recv.audio.opened} (refused ${r.e2e.recv.audio.rejected}), stand-in opened the uplink ${up.recv.audio.opened}; roster ${JSON.stringify(r.stats)}`,
      );
      expect(r.log).toEqual([['member', 'mOne-1', [expect.any(String)], 1, 0]]); // no 'closed': the seal checks passed
      expect(r.stats).toEqual({ rosterRejected: 1, rosters: 1, e2eBypassed: 0 });
      expect(member.packetsReceived).toBeGreaterThan(50);
      expect(member.totalAudioEnergy).toBeGreaterThan(0);
      expect(r.e2e.recv.audio.opened).toBeGreaterThan(50);
      expect(r.e2e.recv.audio.rejected).toBe(0);
      expect(up.recv.audio.opened).toBeGreaterThan(50); // the client's uplink, sealed, opened by the far end
      expect(r.e2e.send.audio).toMatchObject({ oversize: 0, outMin: 114, outMax: 114 });

      await standInPage.evaluate(() => window.standInLeave());
      await until(page, 'left', 5000);
      expect((await page.evaluate(() => window.callLog)).at(-1)).toEqual(['left', 'mOne-1', 0]);

      await page.evaluate(() => window.call.leave());
      expect(edge.seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/v1/rtc/sessions/c2Vzc2lvbi0xMjM0NTY3OA' });
      expect(await page.evaluate(() => window.call.pc.connectionState)).toBe('closed');
      await standInPage.evaluate(() => window.standIn.pc.close());
      await page.close();
    }, 60_000);
  }

  it("joins a video room: sendonly audio + VP8, K audio and K video slots; the member's sealed audio and video decode", async () => {
    secret = [...randomBytes(32)];
    const page = await browser.open(`${site.origin}/index.html`);
    expect(await page.evaluate((o) => window.rtcJoin(o), { relay: edge.url, secret, slots: 2, video: true })).toEqual({ ok: true });
    const post = edge.seen.filter((s) => s.method === 'POST').at(-1)!;
    expect(post.path).toMatch(/\?profile=video$/);
    expect(checkRtcOffer(post.body, { video: true, slots: 2 })).toEqual([]);
    expect(rtcSections(post.body).map((x) => `${x.kind}/${x.direction}/${x.codecs.join('+')}`)).toEqual([
      'audio/sendonly/opus',
      'video/sendonly/vp8+rtx',
      'audio/recvonly/opus',
      'audio/recvonly/opus',
      'video/recvonly/vp8+rtx',
      'video/recvonly/vp8+rtx',
      'application/sendrecv/',
    ]);
    await until(page, 'member', 10_000);
    await sleep(4000);
    const r = await page.evaluate(async () => {
      const inbound: any[] = [];
      (await window.call.pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp') inbound.push(s);
      });
      return { log: window.callLog, e2e: await window.call.e2eStats(), inbound };
    });
    const up = await standInPage.evaluate(() => window.standIn.e2ee.report());
    const v = r.inbound.find((s: any) => s.kind === 'video' && s.packetsReceived > 0);
    const a = r.inbound.find((s: any) => s.kind === 'audio' && s.packetsReceived > 0);
    console.log(
      `video room: member video ${v?.framesDecoded} frames decoded (${v?.keyFramesDecoded} key) ${v?.frameWidth}x${v?.frameHeight}, audio ${a?.packetsReceived} packets; ` +
        `client opened ${r.e2e.recv.audio.opened}/${r.e2e.recv.video.opened} (refused ${r.e2e.recv.audio.rejected + r.e2e.recv.video.rejected}); stand-in opened the uplinks ${up.recv.audio.opened}/${up.recv.video.opened}`,
    );
    expect(r.log[0]).toEqual(['member', 'mOne-1', [expect.any(String), expect.any(String)], 1, 1]);
    expect(v.framesDecoded).toBeGreaterThan(20);
    expect(v.keyFramesDecoded).toBeGreaterThanOrEqual(1);
    expect(a.totalAudioEnergy).toBeGreaterThan(0);
    expect(r.e2e.recv.video.rejected + r.e2e.recv.audio.rejected).toBe(0);
    expect(up.recv.video.opened).toBeGreaterThan(20);
    expect(up.recv.audio.opened).toBeGreaterThan(50);
    await page.evaluate(() => window.call.leave());
    await standInPage.evaluate(() => window.standIn.pc.close());
    await page.close();
  }, 60_000);

  it('fails closed: frames sent past the sealing transform make the call leave (e2e_bypassed)', async () => {
    secret = [...randomBytes(32)];
    const page = await browser.open(`${site.origin}/index.html`);
    expect(await page.evaluate((o) => window.rtcJoin(o), { relay: edge.url, secret, slots: 1 })).toEqual({ ok: true });
    const deletes = edge.seen.filter((s) => s.method === 'DELETE').length;
    // What a careless app (or a browser bug) could do: the sender's frames pass a transform that
    // does not seal. (Setting transform = null instead makes Chromium stop sending: already closed.)
    await page.evaluate(() => {
      const code = 'onrtctransform = (e) => { e.transformer.readable.pipeTo(e.transformer.writable); };';
      const passThrough = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
      window.call.pc.getSenders()[0].transform = new (window as any).RTCRtpScriptTransform(passThrough, {});
    });
    const t0 = Date.now();
    await until(page, 'closed', 10_000);
    const r = await page.evaluate(() => ({ log: window.callLog, stats: window.call.stats, state: window.call.pc.connectionState }));
    console.log(`bypass: closed after ${Date.now() - t0} ms: ${JSON.stringify(r)}`);
    expect(r.log.at(-1)).toEqual(['closed', 'e2e_bypassed']);
    expect(r.stats.e2eBypassed).toBe(1);
    expect(r.state).toBe('closed');
    expect(edge.seen.filter((s) => s.method === 'DELETE').length).toBe(deletes + 1);
    await standInPage.evaluate(() => window.standIn.pc.close());
    await page.close();
  }, 60_000);

  it('errors carry stable codes: the relay refuses (room_full), no relay answers (network)', async () => {
    secret = [...randomBytes(32)];
    full.add(encodeBase64url(roomIdOf(Uint8Array.from(secret))));
    const page = await browser.open(`${site.origin}/index.html`);
    expect(await page.evaluate((o) => window.rtcJoin(o), { relay: edge.url, secret, slots: 1 })).toEqual({ ok: false, code: 'room_full', status: 409 });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    expect(await page.evaluate((o) => window.rtcJoin(o), { relay: deadUrl, secret, slots: 1 })).toEqual({ ok: false, code: 'network', status: 0 });
    expect(await page.evaluate((o) => window.rtcJoin(o), { relay: edge.url, secret: [1, 2, 3], slots: 1 })).toEqual({ ok: false, code: 'bad_secret', status: 0 });
    await page.close();
  }, 60_000);
});
