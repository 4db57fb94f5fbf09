// Mixed rooms through the real relay on 127.0.0.1 (both planes, the cell bridge between them), in
// Node: 2 werift clients on the WebRTC edge sealing their frames as the browser SDK does (FrameSealer,
// RTC key ids, 114-byte records) + 2 CallClients (one on UDP cells, one on the cell WebSocket), one audio room (one call secret).
// All 12 directed pairs deliver and open end to end; what each side receives is measured: records
// from cell members arrive in RTP unaltered (cell record size), browser frames reach cell clients
// as 114-byte records inside down cells whose size never changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, CallKeys, FrameOpener, ready, roomIdOf } from '../../src/client/node.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, waitFor } from '../../loadtest/rtc/edge-client.js';
import { randomBytes } from 'node:crypto';
import { RawCellMember } from './raw-cell-member.js';
import { openedTags, startSealedAudio } from './sealed-members.js';
import { CaptureProxy, spread } from '../media/harness.js';
import { hasNative } from '../media/plane-select.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every RTP packet a werift client receives, per receive slot: SSRC, sequence, timestamp, payload. */
function recordSlots(c: EdgeClient): Map<string, Array<{ ssrc: number; seq: number; ts: number; payload: Buffer }>> {
  const out = new Map<string, Array<{ ssrc: number; seq: number; ts: number; payload: Buffer }>>();
  for (const t of c.pc.getTransceivers()) {
    if (t.direction !== 'recvonly') continue;
    const list: Array<{ ssrc: number; seq: number; ts: number; payload: Buffer }> = [];
    out.set(t.mid!, list);
    t.receiver.track.onReceiveRtp.subscribe((rtp) => list.push({ ssrc: rtp.header.ssrc, seq: rtp.header.sequenceNumber, ts: rtp.header.timestamp, payload: rtp.payload }));
  }
  return out;
}

// Both media data planes: the bridge rides on the external-sink contract they share. XRELAY_NATIVE
// (which overrides the config) picks one.
const env = process.env.XRELAY_NATIVE;
const PLANES: ReadonlyArray<'native' | 'typescript'> = env === '0' ? ['typescript'] : env === '1' ? ['native'] : hasNative ? ['native', 'typescript'] : ['typescript'];
describe.each(PLANES)('mixed room (%s data plane): WebRTC (werift) and cell clients in one audio room', (dataPlane) => {
  let relay: TestRelay;

  beforeAll(async () => {
    await ready();
    relay = await startTestRelay({ rtc: { enabled: true }, media: { enabled: true, dataPlane } }, { logLevel: 'silent' });
    expect(relay.media!.dataPlane).toBe(dataPlane);
  });
  afterAll(async () => {
    await relay.dispose();
  });

  it('all 12 directed pairs deliver and open; sizes on each side', async () => {
    const secret = randomBytes(32);
    const keys = new CallKeys(secret);
    const room = Buffer.from(roomIdOf(secret)).toString('base64url');
    const edge = [new EdgeClient(3), new EdgeClient(3)];
    const calls: CallClient[] = [];
    const senders: Array<{ stop: () => void }> = [];
    try {
      for (const c of edge) expect((await c.join(relay.url, room, 'audio')).status).toBe(201);
      const packets = edge.map((c) => recordSlots(c));
      await Promise.all(edge.map((c) => c.connected()));
      edge.forEach((c, i) => senders.push(startSealedAudio(c, keys, 0xa0 + i)));
      // cell member 0's datagrams pass a capture proxy: what a network observer of a cell client sees
      const proxy = new CaptureProxy(relay.media!.udpPort);
      const udpTarget = await proxy.start();
      senders.push({ stop: () => proxy.close() });
      calls.push(await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80, udpTarget }));
      calls.push(await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'ws', packetBytes: 80 })); // the WebSocket fallback
      expect(calls[1]!.transportKind).toBe('ws');
      const heardByCall = calls.map(() => new Map<number, number>());
      const sizesByCall = calls.map(() => new Set<number>());
      calls.forEach((c, i) => c.on('frame', (f) => heardByCall[i]!.set(f.data[0]!, (heardByCall[i]!.get(f.data[0]!) ?? 0) + 1)));
      const talk = setInterval(() => calls.forEach((c, i) => c.send(new Uint8Array(60).fill(0xc0 + i))), 20);
      senders.push({ stop: () => clearInterval(talk) });

      const tagsOf = (c: EdgeClient): Map<number, number> => openedTags(c, keys);
      const all = [0xa0, 0xa1, 0xc0, 0xc1];
      await waitFor(
        () => edge.every((c, i) => all.filter((t) => t !== 0xa0 + i).every((t) => (tagsOf(c).get(t) ?? 0) >= 20)) && calls.every((_, i) => all.filter((t) => t !== 0xc0 + i).every((t) => (heardByCall[i]!.get(t) ?? 0) >= 20)),
        20_000,
        'all 12 directed pairs deliver',
      );
      await sleep(2000); // a steady stretch for the wire measurement below
      for (const [i, c] of edge.entries()) {
        const t = tagsOf(c);
        console.log(`edge member ${i} opened per sender:`, Object.fromEntries([...t].map(([k, v]) => [k.toString(16), v])));
        // every slot's payloads: 114 bytes (browser) or 114 bytes (cell, packetBytes 80): one size
        for (const list of c.received.values()) for (const p of list) sizesByCall[0]!.add(p.length);
        // rosters list the cell members as slots with opaque tags
        const last = c.rosters.at(-1)!;
        expect(last.slots.length).toBe(3);
        for (const s of last.slots) expect(s.member).toMatch(/^[A-Za-z0-9_-]{11}$/);
      }
      for (const [i, m] of heardByCall.entries()) console.log(`cell member ${i} opened per sender:`, Object.fromEntries([...m].map(([k, v]) => [k.toString(16), v])));
      console.log('RTP payload sizes at the edge members:', [...sizesByCall[0]!]);
      // Each receive slot is one stream per receiver: sequence +1 per packet, timestamps one frame or more apart,
      // with two WebRTC members hearing the same cell members (each record made into RTP once per receiver).
      for (const slots of packets) {
        for (const list of slots.values()) {
          for (let i = 1; i < list.length; i++) {
            expect((list[i]!.seq - list[i - 1]!.seq) & 0xffff).toBe(1);
            const dt = (list[i]!.ts - list[i - 1]!.ts + 2 ** 32) % 2 ** 32;
            // Two records in a row: one frame or more apart, in frames. Around the edge's downlink
            // padding (padding-only packets, empty payloads) the next packet follows by wall time.
            if (list[i - 1]!.payload.length > 0 && list[i]!.payload.length > 0) expect(dt % 960 === 0 && dt >= 960 && dt < 48_000).toBe(true);
            else expect(dt > 0 && dt < 48_000).toBe(true);
          }
        }
      }
      expect([...sizesByCall[0]!]).toEqual([114]);
      // Blind: what the relay forwarded (the RTP payloads, after SRTP) never holds a sender's
      // plaintext: each frame is 60 bytes of its tag, and no 8-byte run of any tag appears.
      for (const c of edge) for (const list of c.received.values()) for (const p of list) for (const t of all) expect(p.includes(Buffer.alloc(8, t))).toBe(false);
      // cell clients see the browsers as members of the cell roster
      for (const c of calls) expect(c.roster.length).toBe(4);
      expect(relay.metric('xrelay_rtc_bridge_records_total{direction="to_rtc"}')).toBeGreaterThan(0);
      expect(relay.metric('xrelay_rtc_bridge_records_total{direction="to_cells"}')).toBeGreaterThan(0);
      for (const c of calls) expect(c.stats.e2eRejected).toBe(0);
      // The cell client's wire: one down cell size and one up cell size, one per tick, whoever is in the room.
      const t0 = proxy.captured[0]!.t;
      const steady = proxy.captured.filter((c) => c.t - t0 > 500);
      for (const dir of ['up', 'down'] as const) {
        const cells = steady.filter((c) => c.dir === dir);
        const sizes = new Set(cells.map((c) => c.bytes.length));
        const gaps = spread(cells.slice(1).map((c, i) => c.t - cells[i]!.t));
        console.log(`cell member 0 ${dir}: ${cells.length} cells, sizes ${[...sizes].join(',')} B, interval p1/p50/p99 ${gaps.p1.toFixed(1)}/${gaps.p50.toFixed(1)}/${gaps.p99.toFixed(1)} ms`);
        expect([...sizes]).toEqual([dir === 'up' ? 188 : 508]);
      }
    } finally {
      for (const s of senders) s.stop();
      await Promise.all(calls.map((c) => c.leave()));
      await Promise.all(edge.map((c) => c.close()));
    }
  }, 60_000);

  it('a cell member leaving and another taking its slot: the slot continues at sequence + 1 and timestamp + 960', async () => {
    // The unpaced path (rtc.audioPadding off): with padding on, the edge's pacer numbers every slot
    // itself and a switch follows by wall time (test/rtc/downlink-pacer.test.ts).
    const relay = await startTestRelay({ rtc: { enabled: true, audioPadding: false }, media: { enabled: true, dataPlane } }, { logLevel: 'silent' });
    const secret = randomBytes(32);
    const room = Buffer.from(roomIdOf(secret)).toString('base64url');
    const keys = new CallKeys(secret);
    const w = new EdgeClient(3);
    const calls: CallClient[] = [];
    const tags = new Map<CallClient, number>();
    const join = async (): Promise<void> => {
      const c = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 });
      tags.set(c, 0x10 + tags.size);
      calls.push(c);
    };
    let talk: NodeJS.Timeout | undefined;
    try {
      expect((await w.join(relay.url, room, 'audio')).status).toBe(201);
      const slots = recordSlots(w);
      await w.connected();
      for (let i = 0; i < 2; i++) await join();
      talk = setInterval(() => calls.forEach((c) => c.send(new Uint8Array(60).fill(tags.get(c)!))), 20);
      await sleep(1000);
      const leaving = calls.shift()!;
      await leaving.leave();
      await join();
      await sleep(1000);
      // the newcomer takes the freed cell slot and the freed receive slot at the werift member
      const opener = new FrameOpener('audio', () => keys);
      const who = (p: Buffer): number => opener.open(new Uint8Array(p))?.[0] ?? -1;
      let switches = 0;
      for (const [mid, list] of slots) {
        if (list.length === 0) continue;
        expect(new Set(list.map((p) => p.ssrc)).size).toBe(1); // one SSRC per receive slot, whoever it carries
        const senders: number[] = [];
        for (let i = 1; i < list.length; i++) {
          const a = list[i - 1]!;
          const b = list[i]!;
          expect((b.seq - a.seq) & 0xffff).toBe(1); // loopback: no loss, no gap in sequence
          const dt = (b.ts - a.ts + 2 ** 32) % 2 ** 32;
          expect(dt % 960).toBe(0);
          expect(dt).toBeGreaterThanOrEqual(960);
          expect(dt).toBeLessThan(48_000); // forward, under a second
          const sa = i === 1 ? who(a.payload) : senders.at(-1)!;
          const sb = who(b.payload);
          if (i === 1) senders.push(sa);
          if (sa !== sb) {
            switches++;
            expect(dt).toBe(960); // the new source continues the slot's clock by one frame
          }
          if (senders.at(-1) !== sb) senders.push(sb);
        }
        console.log(`slot ${mid}: ${list.length} packets, SSRC ${list[0]!.ssrc}, members carried in turn (their tags) ${senders.map((x) => x.toString(16)).join(' -> ')}`);
      }
      expect(switches).toBe(1);
    } finally {
      clearInterval(talk);
      await Promise.all(calls.map((c) => c.leave()));
      await w.close();
      await relay.dispose();
    }
  }, 60_000);

  it('bad input: a cell member sending garbage records of the largest size, malformed bodies and forged cells does not disturb the others', async () => {
    const secret = randomBytes(32);
    const keys = new CallKeys(secret);
    const roomBytes = roomIdOf(secret);
    const room = Buffer.from(roomBytes).toString('base64url');
    const w = new EdgeClient(3);
    let call: CallClient | undefined;
    let raw: RawCellMember | undefined;
    const timers: NodeJS.Timeout[] = [];
    try {
      expect((await w.join(relay.url, room, 'audio')).status).toBe(201);
      const slots = recordSlots(w);
      await w.connected();
      const sealed = startSealedAudio(w, keys, 0xa0);
      call = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 });
      const fromBrowser = { n: 0 };
      call.on('frame', (f) => f.data[0] === 0xa0 && fromBrowser.n++);
      raw = await RawCellMember.join(relay.url, roomBytes, 'audio');
      const max = raw.upBytes - 5; // one record filling the body
      const badCell0 = relay.metric('xrelay_rtc_bridge_dropped_total{reason="bad_cell"}');
      let k = 0;
      timers.push(
        setInterval(() => {
          call!.send(new Uint8Array(60).fill(0xc0));
          const r = raw!;
          switch (k++ % 4) {
            case 0: // random bytes of the largest record size
              r.sendRecords([randomBytes(max)]);
              break;
            case 1: // an SFrame-looking record with a random KID (RTC range too), largest size
              r.sendRecords([Uint8Array.from([0xdf, ...randomBytes(max - 1)])]);
              break;
            case 2: // several small garbage records in one cell
              r.sendRecords([randomBytes(40), randomBytes(40), randomBytes(40)]);
              break;
            default: // a malformed body (non-zero padding), a forged cell, random datagrams
              r.sendBody(randomBytes(r.upBytes));
              r.sendRaw(randomBytes(r.upBytes + 28));
              r.sendRaw(randomBytes(7));
          }
        }, 20),
      );
      await sleep(3000);
      sealed.stop();
      const opener = new FrameOpener('audio', () => keys);
      const perSlot = [...slots].map(([mid, list]) => {
        let opened = 0;
        const sizes = new Set<number>();
        for (const p of list) {
          if (p.payload.length === 0) continue; // the edge's downlink padding (padding-only packets)
          sizes.add(p.payload.length);
          const f = opener.open(new Uint8Array(p.payload));
          if (f !== undefined && f[0] === 0xc0) opened++;
        }
        return { mid, packets: list.filter((p) => p.payload.length > 0).length, opened, sizes: [...sizes] };
      });
      console.log('werift member per slot:', JSON.stringify(perSlot), 'opener', JSON.stringify(opener.stats), `cell member opened ${fromBrowser.n} browser frames, rejected ${call.stats.e2eRejected}`);
      const good = perSlot.find((s) => s.opened > 0)!;
      const junk = perSlot.find((s) => s.packets > 0 && s.opened === 0)!;
      expect(good.opened).toBeGreaterThan(100); // ~150 sent in 3 s
      expect(good.opened).toBe(good.packets); // every packet of the real member opens
      expect(junk.packets).toBeGreaterThan(50); // the garbage went through as sealed payloads would, and nothing opened
      expect(Math.max(...junk.sizes)).toBe(max);
      expect(fromBrowser.n).toBeGreaterThan(100); // the cell member still hears the browser
      expect(relay.metric('xrelay_rtc_bridge_dropped_total{reason="bad_cell"}')).toBe(badCell0);
    } finally {
      for (const t of timers) clearInterval(t);
      raw?.close();
      await call?.leave();
      await w.close();
    }
  }, 60_000);
});
