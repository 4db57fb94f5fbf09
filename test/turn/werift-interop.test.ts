// Two werift RTCPeerConnections with iceTransportPolicy 'relay' and our server as their only ICE
// server connect, exchange a data channel message and RTP; a capture on the relay side (a proxy in
// front of the TURN port) sees DTLS and SRTP records but never the plaintext the peers sent.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, type RTCDataChannel } from 'werift';
import type { TurnPlane } from '../../src/turn/server/turn-plane.js';
import { startCaptureProxy, type CaptureProxy } from './helpers/capture-proxy.js';
import { startTestTurn } from './helpers/plane.js';

let plane: TurnPlane;
let proxy: CaptureProxy;

beforeAll(async () => {
  ({ plane } = await startTestTurn());
  proxy = await startCaptureProxy(plane.udpPort);
});
afterAll(async () => {
  await proxy.close();
  await plane.close();
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

describe('werift through our TURN relay', () => {
  it('data channel and RTP cross the relay; the relay sees only ciphertext', async () => {
    const iceServers = [{ urls: `turn:127.0.0.1:${proxy.port}`, username: 'alice', credential: 'secret1' }];
    const a = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    const b = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
    const dcMarker = `DC-PLAINTEXT-${randomBytes(8).toString('hex')}`;
    const rtpMarker = Buffer.from(`RTP-PLAINTEXT-${randomBytes(8).toString('hex')}`);
    let rtpTimer: NodeJS.Timeout | undefined;
    try {
      const track = new MediaStreamTrack({ kind: 'audio' });
      a.addTransceiver(track, { direction: 'sendonly' });
      const dc = a.createDataChannel('chat');
      const gotMessage = new Promise<string>((resolve) => {
        b.onDataChannel.subscribe((remote: RTCDataChannel) => remote.onMessage.subscribe((m) => resolve(m.toString())));
      });
      const gotRtp = new Promise<Buffer>((resolve) => {
        b.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((rtp) => resolve(rtp.payload)));
      });

      await a.setLocalDescription(await a.createOffer());
      await withTimeout(gathered(a), 10_000, 'gathering A');
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription(await b.createAnswer());
      await withTimeout(gathered(b), 10_000, 'gathering B');
      await a.setRemoteDescription(b.localDescription!);
      for (const sdp of [a.localDescription!.sdp, b.localDescription!.sdp]) {
        const candidates = sdp.split('\r\n').filter((l) => l.startsWith('a=candidate'));
        expect(candidates.length).toBeGreaterThan(0);
        for (const c of candidates) expect(c).toContain('typ relay');
      }

      await withTimeout(new Promise<void>((resolve) => (dc.readyState === 'open' ? resolve() : dc.stateChanged.subscribe((s) => s === 'open' && resolve()))), 20_000, 'data channel open');
      dc.send(dcMarker);
      expect(await withTimeout(gotMessage, 10_000, 'data channel message')).toBe(dcMarker);

      let seq = 1;
      rtpTimer = setInterval(() => {
        track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, marker: true }), rtpMarker));
        seq++;
      }, 20);
      expect((await withTimeout(gotRtp, 10_000, 'RTP')).equals(rtpMarker)).toBe(true);
    } finally {
      clearInterval(rtpTimer);
      await Promise.all([a.close(), b.close()]);
    }

    // The relay relayed the call ...
    expect(plane.stats().relayedPackets.toPeer).toBeGreaterThan(10);
    // ... and its capture holds DTLS records and SRTP packets inside ChannelData/Data, never plaintext.
    const payloads = proxy.packets.map(relayedPayload).filter((p): p is Buffer => p !== undefined);
    expect(payloads.some((p) => p[0] === 23 && p[1] === 0xfe)).toBe(true); // DTLS application data (SCTP)
    expect(payloads.some((p) => p[0]! >= 128 && p[0]! < 192)).toBe(true); // SRTP/SRTCP
    for (const pkt of proxy.packets) {
      expect(pkt.includes(Buffer.from(dcMarker))).toBe(false);
      expect(pkt.includes(rtpMarker)).toBe(false);
    }
  }, 60_000);
});

/** The payload of a ChannelData message or of a Data/Send indication's DATA attribute. */
function relayedPayload(pkt: Buffer): Buffer | undefined {
  if (pkt.length >= 4 && (pkt[0]! & 0xc0) === 0x40) return pkt.subarray(4, 4 + pkt.readUInt16BE(2));
  const type = pkt.length >= 20 ? pkt.readUInt16BE(0) : 0;
  if (type !== 0x0016 && type !== 0x0017) return undefined;
  for (let pos = 20; pos + 4 <= pkt.length; ) {
    const t = pkt.readUInt16BE(pos);
    const len = pkt.readUInt16BE(pos + 2);
    if (t === 0x0013) return pkt.subarray(pos + 4, pos + 4 + len);
    pos += 4 + ((len + 3) & ~3);
  }
  return undefined;
}
