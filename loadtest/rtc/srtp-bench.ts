/**
 * npm run bench:rtc-srtp -- [--packets 50000] [--payload 114]
 *
 * The per-packet pieces the edge's fast path replaced, in one process and one run, werift's way
 * beside the fast path's (docs/RTC.md, "Performance"), AEAD_AES_128_GCM (the profile browsers and
 * werift clients negotiate with the edge):
 *  - send: the edge's werift path (a header and packet object per packet, `RTCRtpSender.sendRtp`
 *    with the slot's MID and abs-send-time, werift's SRTP session) against the fast path's header
 *    template and seal in the wire buffer (codec/rtp-writer.ts, crypto/srtp-seal.ts) with the same
 *    sender bookkeeping (fast-forward.ts); both stop where the ICE send would start;
 *  - receive: werift's SRTP decrypt then its RTP parse, against srtp-open.ts in werift's receive
 *    context (fast-receive.ts) then the same parse.
 * A hot loop on warm caches: a floor, not the relay's cost per packet (npm run bench:rtc measures that).
 */
import { randomBytes } from 'node:crypto';
import { ProtectionProfileAeadAes128Gcm, RTCRtpSender, RtpHeader, RtpPacket, SrtpSession, type RTCDtlsTransport } from 'werift';
import { FastSender } from '../../src/rtc/server/fast-forward.js';
import { leanDecrypt, type SrtpReceiveContext } from '../../src/rtc/server/fast-receive.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const n = Number(arg('packets', '50000'));
const size = Number(arg('payload', '114'));
const WARM = 3000;
const SSRC = 0x1234_5678;

/** Mean µs per call of `f` over `count` calls after `WARM` warm-up calls (each awaited when it returns a promise). */
async function time(count: number, f: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < WARM; i++) {
    const r = f(i);
    if (r instanceof Promise) await r;
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const r = f(WARM + i);
    if (r instanceof Promise) await r;
  }
  return Number(process.hrtime.bigint() - t0) / count / 1000;
}

/** A slot sender as the edge's session has it after negotiation, on a connected transport stub whose send seals with `srtp` and stops. */
function slotSender(srtp: SrtpSession, out: Buffer[] | undefined): RTCRtpSender {
  const dtls = {
    state: 'connected',
    srtp,
    bytesSent: 0,
    packetsSent: 0,
    transportSequenceNumber: 0,
    onStateChange: { subscribe: () => ({ unSubscribe: () => undefined }) },
    iceTransport: { connection: { send: () => Promise.resolve() } },
    sendRtp: async (payload: Buffer, header: RtpHeader) => {
      const enc = srtp.encrypt(payload, header);
      out?.push(enc);
      return enc.length;
    },
  };
  const sender = new RTCRtpSender('audio');
  sender.setDtlsTransport(dtls as unknown as RTCDtlsTransport);
  const s = sender as unknown as { codec: unknown; mid: string; headerExtensions: unknown[]; ssrc: number; rtcpRunning: boolean };
  s.codec = { payloadType: 111 };
  s.mid = '2';
  s.headerExtensions = [
    { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
    { uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2 },
  ];
  s.rtcpRunning = true; // no RTCP loop in a benchmark
  return sender;
}

async function main(): Promise<void> {
  const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(12), randomBytes(16), randomBytes(12)];
  const session = (lk: Buffer, ls: Buffer, rk: Buffer, rs: Buffer): SrtpSession => new SrtpSession({ keys: { localMasterKey: lk, localMasterSalt: ls, remoteMasterKey: rk, remoteMasterSalt: rs }, profile: ProtectionProfileAeadAes128Gcm });
  const werift = session(k1, s1, k2, s2);
  const ours = session(k1, s1, k2, s2);
  const weriftRx = session(k2, s2, k1, s1);
  const oursRx = session(k2, s2, k1, s1);
  leanDecrypt(oursRx.remoteContext as unknown as SrtpReceiveContext);
  const payload = randomBytes(size);
  const total = WARM + n; // sequence numbers below 65536: no rollover inside a run
  if (total > 65_000) throw new Error('--packets at most 62000');
  const packets: Buffer[] = [];

  const weriftSender = slotSender(werift, packets);
  const weriftSend = await time(n, (seq) => weriftSender.sendRtp(new RtpPacket(new RtpHeader({ payloadType: 111, marker: false, sequenceNumber: seq, timestamp: seq * 960, ssrc: SSRC }), payload)));
  const fastSender = slotSender(ours, undefined);
  const fast = new FastSender((fastSender as unknown as { dtlsTransport: RTCDtlsTransport }).dtlsTransport).slot(fastSender)!;
  const fastSend = await time(n, (seq) => fast.send(false, seq, seq * 960, payload, 0));
  const weriftReceive = await time(n, (i) => void RtpPacket.deSerialize(weriftRx.decrypt(packets[i]!)));
  const fastReceive = await time(n, (i) => void RtpPacket.deSerialize(oursRx.decrypt(packets[i]!)));
  console.log(`bench:rtc-srtp: ${n} packets of ${size} bytes, AEAD_AES_128_GCM, after ${WARM} warm-up`);
  console.log(`send     werift ${weriftSend.toFixed(2)} us/packet   fast path ${fastSend.toFixed(2)} us/packet   ${(weriftSend / fastSend).toFixed(2)}x`);
  console.log(`receive  werift ${weriftReceive.toFixed(2)} us/packet   fast path ${fastReceive.toFixed(2)} us/packet   ${(weriftReceive / fastReceive).toFixed(2)}x`);
}

void main();
