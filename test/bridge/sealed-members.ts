/** werift edge members that seal and open audio the way RtcCall does: what the mixed-room tests share. */
import { RtpHeader, RtpPacket } from 'werift';
import { CallKeys, FrameOpener, FrameSealer, randomRtcKid } from '../../src/client/node.js';
import type { EdgeClient } from '../../loadtest/rtc/edge-client.js';

/** Sends a sealed audio frame every 20 ms (FrameSealer, an RTC key id): `tag` repeated, 60 bytes, padded to 80 inside the seal. */
export function startSealedAudio(c: EdgeClient, keys: CallKeys, tag: number): { stop: () => void; kid: number } {
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

/** Frames the member received that open with the call's keys, counted by their first byte (the sender's tag). */
export function openedTags(c: EdgeClient, keys: CallKeys): Map<number, number> {
  const opener = new FrameOpener('audio', () => keys);
  const out = new Map<number, number>();
  for (const list of c.received.values()) {
    for (const p of list) {
      const f = opener.open(new Uint8Array(p));
      if (f !== undefined) out.set(f[0]!, (out.get(f[0]!) ?? 0) + 1);
    }
  }
  return out;
}
