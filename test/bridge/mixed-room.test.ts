// Mixed rooms through the real relay on 127.0.0.1 (both planes, the cell bridge between them), in
// Node: 2 werift clients on the WebRTC edge sealing their frames as the browser SDK does (FrameSealer,
// RTC key ids, 114-byte records) + 2 CallClients on UDP cells, one audio room (one call secret).
// All 12 directed pairs deliver and open end to end; what each side receives is measured: records
// from cell members arrive in RTP unaltered (cell record size), browser frames reach cell clients
// as 114-byte records inside down cells whose size never changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient, CallKeys, FrameOpener, FrameSealer, randomRtcKid, ready, roomIdOf } from '../../src/client/node.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, waitFor } from '../../loadtest/rtc/edge-client.js';
import { RtpHeader, RtpPacket } from 'werift';
import { randomBytes } from 'node:crypto';

let relay: TestRelay;

beforeAll(async () => {
  await ready();
  relay = await startTestRelay({ rtc: { enabled: true }, media: { enabled: true } }, { logLevel: 'silent' });
});
afterAll(async () => {
  await relay.dispose();
});

/** A werift member that seals its audio frames like RtcCall: `tag` repeated, 60 bytes, padded to 80 inside the seal. */
function startSealedAudio(c: EdgeClient, keys: CallKeys, tag: number): { stop: () => void; kid: number } {
  const kid = randomRtcKid();
  const sealer = new FrameSealer(keys, kid, 'audio');
  let n = 0;
  const t = setInterval(() => {
    const rec = sealer.seal(new Uint8Array(60).fill(tag))!;
    c.track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: n & 0xffff, timestamp: (n * 960) >>> 0, ssrc: 7, marker: false }), Buffer.from(rec)));
    n++;
  }, 20);
  return { stop: () => clearInterval(t), kid };
}

describe('mixed room: WebRTC (werift) and cell clients in one audio room', () => {
  it('all 12 directed pairs deliver and open; sizes on each side', async () => {
    const secret = randomBytes(32);
    const keys = new CallKeys(secret);
    const room = Buffer.from(roomIdOf(secret)).toString('base64url');
    const edge = [new EdgeClient(3), new EdgeClient(3)];
    const calls: CallClient[] = [];
    const senders: Array<{ stop: () => void }> = [];
    try {
      for (const c of edge) expect((await c.join(relay.url, room, 'audio')).status).toBe(201);
      await Promise.all(edge.map((c) => c.connected()));
      edge.forEach((c, i) => senders.push(startSealedAudio(c, keys, 0xa0 + i)));
      for (let i = 0; i < 2; i++) calls.push(await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport: 'udp', packetBytes: 80 }));
      const heardByCall = calls.map(() => new Map<number, number>());
      const sizesByCall = calls.map(() => new Set<number>());
      calls.forEach((c, i) => c.on('frame', (f) => heardByCall[i]!.set(f.data[0]!, (heardByCall[i]!.get(f.data[0]!) ?? 0) + 1)));
      const talk = setInterval(() => calls.forEach((c, i) => c.send(new Uint8Array(60).fill(0xc0 + i))), 20);
      senders.push({ stop: () => clearInterval(talk) });

      const tagsOf = (c: EdgeClient): Map<number, number> => {
        const opener = new FrameOpener('audio', () => keys);
        const out = new Map<number, number>();
        for (const list of c.received.values()) {
          for (const p of list) {
            const f = opener.open(new Uint8Array(p));
            if (f !== undefined) out.set(f[0]!, (out.get(f[0]!) ?? 0) + 1);
          }
        }
        return out;
      };
      const all = [0xa0, 0xa1, 0xc0, 0xc1];
      await waitFor(
        () => edge.every((c, i) => all.filter((t) => t !== 0xa0 + i).every((t) => (tagsOf(c).get(t) ?? 0) >= 20)) && calls.every((_, i) => all.filter((t) => t !== 0xc0 + i).every((t) => (heardByCall[i]!.get(t) ?? 0) >= 20)),
        20_000,
        'all 12 directed pairs deliver',
      );
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
      expect([...sizesByCall[0]!]).toEqual([114]);
      // cell clients see the browsers as members of the cell roster
      for (const c of calls) expect(c.roster.length).toBe(4);
      expect(relay.metric('xrelay_rtc_bridge_records_total{direction="to_rtc"}')).toBeGreaterThan(0);
      expect(relay.metric('xrelay_rtc_bridge_records_total{direction="to_cells"}')).toBeGreaterThan(0);
      for (const c of calls) expect(c.stats.e2eRejected).toBe(0);
    } finally {
      for (const s of senders) s.stop();
      await Promise.all(calls.map((c) => c.leave()));
      await Promise.all(edge.map((c) => c.close()));
    }
  }, 60_000);
});
