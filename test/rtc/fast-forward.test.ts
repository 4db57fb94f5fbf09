// The edge's fast send path (src/rtc/server/fast-forward.ts): its header writer byte-identical to
// werift's serializer, its SRTP seal byte-identical to werift's SRTP contexts (GCM and AES-CM, a
// rollover included), and on the wire through werift clients: payloads unaltered with the slot's
// SSRC and contiguous numbering, MID and a correct abs-send-time, a NACK answered from the history
// the path fills, sender reports counting what it sent; XRELAY_RTC_FAST_FORWARD=0 falls back to werift.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtpAuthenticationError, SrtpSession, type RtcpSrPacket } from 'werift';
import { absSendTime24, ntpTimestamp64, rtpHeaderTemplate, writeRtpHeader } from '../../src/rtc/codec/rtp-writer.js';
import { SrtpOpener } from '../../src/rtc/crypto/srtp-open.js';
import { SrtpSealer } from '../../src/rtc/crypto/srtp-seal.js';
import { FastSender } from '../../src/rtc/server/fast-forward.js';
import { leanDecrypt, type SrtpReceiveContext } from '../../src/rtc/server/fast-receive.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';
import { seededRng } from '../../src/load/rng.js';

const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const URI_ABS = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

describe('fast path codec and seal against werift', () => {
  it('writes the header werift serializes (random fields, extension layouts, padding)', () => {
    const rnd = seededRng(7);
    const int = (n: number): number => Math.floor(rnd() * n);
    for (let i = 0; i < 500; i++) {
      const midId = int(3) === 0 ? 0 : 1 + int(14);
      let absId = int(3) === 0 ? 0 : 1 + int(14);
      if (absId === midId) absId = 0;
      const mid = String(int(1000));
      const [ssrc, seq, ts, pt, marker, pad, abs] = [int(2 ** 32), int(65536), int(2 ** 32), int(128), int(2) === 1, int(2) === 1 ? 1 + int(255) : 0, int(2 ** 24)];
      const tpl = rtpHeaderTemplate(ssrc, { midId, mid, absSendTimeId: absId })!;
      const out = Buffer.alloc(64);
      const len = writeRtpHeader(out, tpl, marker, pt, seq, ts, pad > 0, abs);
      const absBuf = Buffer.from([abs >>> 16, (abs >>> 8) & 0xff, abs & 0xff]);
      const extensions = [...(midId ? [{ id: midId, payload: Buffer.from(mid) }] : []), ...(absId ? [{ id: absId, payload: absBuf }] : [])].sort((a, b) => a.id - b.id);
      const h = new RtpHeader({ ssrc, sequenceNumber: seq, timestamp: ts, payloadType: pt, marker, padding: pad > 0, paddingSize: pad, extensions });
      expect(out.subarray(0, len).toString('hex')).toBe(h.serialize(h.serializeSize).toString('hex'));
    }
    expect(rtpHeaderTemplate(1, { midId: 15, mid: '0', absSendTimeId: 0 })).toBeUndefined();
    expect(rtpHeaderTemplate(1, { midId: 1, mid: 'x'.repeat(17), absSendTimeId: 0 })).toBeUndefined();
  });

  it('abs-send-time and NTP timestamps of known instants', () => {
    // 2026-01-01T00:00:00.500Z: NTP seconds 3976214400, fraction 2^31
    const ms = Date.UTC(2026, 0, 1, 0, 0, 0, 500);
    expect(ntpTimestamp64(ms)).toBe((3_976_214_400n << 32n) | 0x8000_0000n);
    expect(absSendTime24(ms)).toBe(((3_976_214_400 % 64) << 18) + (1 << 17));
  });

  for (const [name, profile, keyLen, saltLen] of [
    ['AEAD_AES_128_GCM', ProtectionProfileAeadAes128Gcm, 16, 12],
    ['AES_CM_128_HMAC_SHA1_80', ProtectionProfileAes128CmHmacSha1_80, 16, 14],
  ] as const) {
    it(`${name}: the seal is werift's encryptRtp byte for byte, werift's receiver opens it, across a rollover`, () => {
      const [k1, s1, k2, s2] = [randomBytes(keyLen), randomBytes(saltLen), randomBytes(keyLen), randomBytes(saltLen)];
      const werift = new SrtpSession({ keys: { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 }, profile });
      const ours = new SrtpSession({ keys: { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 }, profile });
      const peer = new SrtpSession({ keys: { localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 }, profile });
      const ctx = ours.localContext as unknown as { cipher: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag?: Buffer }; getSrtpSsrcState(s: number): { rolloverCounter: number }; updateRolloverCount(q: number, s: object): void };
      const sealer = new SrtpSealer(profile === ProtectionProfileAeadAes128Gcm ? 'aes128gcm' : 'aes128cm-sha1-80', { key: ctx.cipher.srtpSessionKey, salt: ctx.cipher.srtpSessionSalt, authKey: ctx.cipher.srtpSessionAuthTag });
      const tpl = rtpHeaderTemplate(0x1234_5678, { midId: 1, mid: '3', absSendTimeId: 2 })!;
      let rolled = 0;
      for (let i = 0; i < 40; i++) {
        const seq = (65_520 + i) & 0xffff;
        const payload = randomBytes(1 + (i * 37) % 200);
        const out = Buffer.alloc(200 + payload.length);
        const hdrLen = writeRtpHeader(out, tpl, i % 3 === 0, 111, seq, i * 960, false, i * 1000);
        payload.copy(out, hdrLen);
        const st = ctx.getSrtpSsrcState(0x1234_5678);
        ctx.updateRolloverCount(seq, st);
        rolled = st.rolloverCounter;
        const len = sealer.seal(out, hdrLen, payload.length, 0x1234_5678, seq, st.rolloverCounter);
        const header = RtpHeader.deSerialize(out.subarray(0, hdrLen));
        const theirs = werift.encrypt(payload, header);
        expect(out.subarray(0, len).toString('hex')).toBe(theirs.toString('hex'));
        expect(Buffer.from(peer.decrypt(out.subarray(0, len))).subarray(hdrLen).toString('hex')).toBe(payload.toString('hex'));
      }
      expect(rolled).toBe(1);
    });
  }
});

describe('fast receive: srtp-open.ts in the receive context of werift', () => {
  for (const [name, profile, saltLen] of [
    ['AEAD_AES_128_GCM', ProtectionProfileAeadAes128Gcm, 12],
    ['AES_CM_128_HMAC_SHA1_80', ProtectionProfileAes128CmHmacSha1_80, 14],
  ] as const) {
    it(`${name}: opens what werift opens, keeps its rollover state; a bad tag, bad padding or a short packet throws and changes nothing`, () => {
      const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLen), randomBytes(16), randomBytes(saltLen)];
      const keys = { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 };
      const sender = new SrtpSession({ keys: { localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 }, profile });
      const theirs = new SrtpSession({ keys, profile });
      const ours = new SrtpSession({ keys, profile });
      const ctx = ours.remoteContext as unknown as SrtpReceiveContext;
      leanDecrypt(ctx);
      const states = (): string => JSON.stringify(ctx.srtpSSRCStates);
      const rnd = seededRng(11);
      for (let i = 0; i < 60; i++) {
        const seq = (65_500 + i * 2) & 0xffff; // across a rollover
        const pad = i % 4 === 0 ? 1 + (i % 9) : 0;
        const body = randomBytes(1 + Math.floor(rnd() * 150));
        const payload = pad > 0 ? Buffer.concat([body, Buffer.alloc(pad - 1), Buffer.from([pad])]) : body;
        const header = new RtpHeader({ ssrc: 0xabcd, sequenceNumber: seq, timestamp: i * 960, payloadType: 111, marker: i % 5 === 0, padding: pad > 0, paddingSize: pad, csrc: i % 7 === 0 ? [1, 2] : [], extensions: i % 3 === 0 ? [{ id: 1, payload: Buffer.from('1') }] : [] });
        const packet = sender.encrypt(payload, header);
        const before = states();
        const bad = Buffer.from(packet);
        bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
        expect(() => ours.decrypt(bad)).toThrow(SrtpAuthenticationError);
        expect(() => ours.decrypt(packet.subarray(0, 12))).toThrow(SrtpAuthenticationError);
        expect(states()).toBe(before);
        expect(ours.decrypt(packet).toString('hex')).toBe(theirs.decrypt(packet).toString('hex'));
        expect(states()).toBe(JSON.stringify((theirs.remoteContext as unknown as SrtpReceiveContext).srtpSSRCStates));
      }
      expect(ctx.srtpSSRCStates[0xabcd]!.rolloverCounter).toBe(1);
      // a P bit whose count does not fit the payload: werift refuses it after decryption, so does this
      const header = new RtpHeader({ ssrc: 0xabcd, sequenceNumber: 40, timestamp: 0, payloadType: 111, padding: true, paddingSize: 0 });
      const badPad = sender.encrypt(Buffer.from([1, 2, 3, 200]), header);
      expect(() => theirs.decrypt(badPad)).toThrow(SrtpAuthenticationError);
      expect(() => ours.decrypt(badPad)).toThrow(SrtpAuthenticationError);
    });
  }
});

describe('fast path on the wire (werift clients through the edge)', () => {
  let relay: TestRelay;
  let transmitted = 0;
  let opened = 0;
  const transmit = FastSender.prototype.transmit;
  const open = SrtpOpener.prototype.open;

  beforeAll(async () => {
    FastSender.prototype.transmit = function (this: FastSender, p: Buffer): void {
      transmitted++;
      transmit.call(this, p);
    };
    SrtpOpener.prototype.open = function (this: SrtpOpener, p: Buffer, roc: number): Buffer | undefined {
      opened++;
      return open.call(this, p, roc);
    };
    relay = await startTestRelay({ rtc: { enabled: true, audioPadding: false } });
  });
  afterAll(async () => {
    FastSender.prototype.transmit = transmit;
    SrtpOpener.prototype.open = open;
    await relay.dispose();
  });
  afterEach(() => {
    delete process.env['XRELAY_RTC_FAST_FORWARD'];
  });

  it('payloads unaltered on the slot SSRC, MID and abs-send-time, a NACK answered, SRs count the packets', async () => {
    const room = roomId();
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    try {
      for (const c of [a, b]) expect((await c.join(relay.url, room, 'audio')).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      const sr: RtcpSrPacket[] = [];
      const slot = b.pc.getTransceivers().find((t) => t.mid === '1')!;
      slot.receiver.onRtcp.subscribe((p) => {
        if (p.type === 200) sr.push(p as RtcpSrPacket);
      });
      const headers: RtpHeader[] = [];
      b.onSlotRtp = (_mid, rtp) => headers.push(rtp.header);
      await waitFor(() => b.rosters.length > 0 && a.rosters.length > 0, 5000, 'rosters');
      const [before, openedBefore] = [transmitted, opened];
      const sent = Array.from({ length: 60 }, (_, i) => randomBytes(20 + i));
      for (const p of sent) {
        a.sendAudio(p);
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => (b.received.get('1')?.length ?? 0) >= sent.length, 5000, 'all payloads at b');
      expect(transmitted - before).toBeGreaterThanOrEqual(sent.length);
      expect(opened - openedBefore).toBeGreaterThanOrEqual(sent.length); // a's uplink, opened by srtp-open.ts
      expect(b.received.get('1')!.map((x) => x.toString('hex'))).toEqual(sent.map((x) => x.toString('hex')));
      const seen = b.slotSeqs.get('1')!;
      expect(new RegExp(`a=ssrc:${seen.ssrc} `).test(b.answer)).toBe(true);
      for (let i = 1; i < seen.seqs.length; i++) expect(seen.seqs[i]).toBe((seen.seqs[0]! + i) & 0xffff);
      // MID and abs-send-time as negotiated; abs-send-time within 2 s of now (6.18 fixed point, mod 64 s)
      const extIds = new Map<string, number>();
      for (const m of b.answer.matchAll(/a=extmap:(\d+) (\S+)/g)) extIds.set(m[2]!, Number(m[1]));
      const h = headers[headers.length - 1]!;
      expect(h.extensions.find((e) => e.id === extIds.get(URI_MID))?.payload.toString()).toBe('1');
      const absBytes = h.extensions.find((e) => e.id === extIds.get(URI_ABS))!.payload;
      const drift = Math.abs(((absBytes.readUIntBE(0, 3) - absSendTime24(Date.now()) + 2 ** 23 + 2 ** 24) % 2 ** 24) - 2 ** 23);
      console.log(`abs-send-time off by ${(drift / 262.144).toFixed(1)} ms`);
      expect(drift).toBeLessThan(2 * 262_144);
      // a NACK for a packet b has: sent again from the history, byte-identical
      const target = seen.seqs[seen.seqs.length - 4]!;
      const want = b.received.get('1')![seen.seqs.length - 4]!.toString('hex');
      const nackBefore = transmitted;
      await b.sendNack('1', [target]);
      await waitFor(() => seen.seqs.filter((s) => s === target).length === 2, 5000, 'retransmission');
      expect(b.received.get('1')![b.received.get('1')!.length - 1]!.toString('hex')).toBe(want);
      expect(transmitted).toBe(nackBefore); // werift's NACK handler sent it, from the fast path's history
      // the next sender report counts every packet and payload octet sent on the slot
      const n = sr.length;
      await waitFor(() => sr.length > n, 5000, 'a sender report after the last packet');
      const info = sr[sr.length - 1]!.senderInfo;
      expect(info.packetCount).toBe(sent.length);
      expect(info.octetCount).toBe(sent.reduce((s, p) => s + p.length, 0));
      expect(info.rtpTimestamp).toBe(h.timestamp);
      const ntpSec = Number(info.ntpTimestamp >> 32n) - 2_208_988_800;
      expect(Math.abs(ntpSec - Date.now() / 1000)).toBeLessThan(10);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('XRELAY_RTC_FAST_FORWARD=0: sessions send through werift, payloads unaltered', async () => {
    process.env['XRELAY_RTC_FAST_FORWARD'] = '0';
    const room = roomId();
    const a = new EdgeClient(1);
    const b = new EdgeClient(1);
    try {
      for (const c of [a, b]) expect((await c.join(relay.url, room, 'audio')).status).toBe(201);
      await Promise.all([a.connected(), b.connected()]);
      await waitFor(() => b.rosters.length > 0, 5000, 'roster');
      const [before, openedBefore] = [transmitted, opened];
      const sent = Array.from({ length: 10 }, () => randomBytes(30));
      for (const p of sent) a.sendAudio(p);
      await waitFor(() => (b.received.get('1')?.length ?? 0) >= sent.length, 5000, 'payloads at b');
      expect(b.received.get('1')!.map((x) => x.toString('hex'))).toEqual(sent.map((x) => x.toString('hex')));
      expect(transmitted).toBe(before);
      expect(opened).toBe(openedBefore);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  for (const fast of [true, false]) {
    it(`downlink padding ${fast ? 'through the fast path' : 'through werift (XRELAY_RTC_FAST_FORWARD=0)'}: one size with the P bit, padding-only packets, payloads unaltered`, async () => {
      if (!fast) process.env['XRELAY_RTC_FAST_FORWARD'] = '0';
      const padded = await startTestRelay({ rtc: { enabled: true, audioPadding: true } });
      const x = new EdgeClient(1);
      const y = new EdgeClient(1);
      try {
        const room = roomId();
        for (const c of [x, y]) expect((await c.join(padded.url, room, 'audio')).status).toBe(201);
        await Promise.all([x.connected(), y.connected()]);
        await waitFor(() => y.rosters.length > 0, 5000, 'roster');
        const sizes = new Set<number>();
        let pBits = 0;
        let packets = 0;
        y.onSlotRtp = (_mid, rtp) => {
          packets++;
          sizes.add(rtp.payload.length + (rtp.header.padding ? rtp.header.paddingSize : 0));
          if (rtp.header.padding) pBits++;
        };
        const before = transmitted;
        const sent = Array.from({ length: 10 }, (_, i) => randomBytes(30 + i));
        for (const p of sent) {
          x.sendAudio(p);
          await new Promise((r) => setTimeout(r, 20));
        }
        await waitFor(() => (y.received.get('1')?.length ?? 0) >= sent.length && y.paddingPackets >= 5, 5000, 'payloads and padding at y');
        expect(y.received.get('1')!.map((p) => p.toString('hex'))).toEqual(sent.map((p) => p.toString('hex')));
        expect([...sizes]).toEqual([115]);
        expect(pBits).toBe(packets);
        if (fast) expect(transmitted - before).toBeGreaterThanOrEqual(sent.length + 5);
        else expect(transmitted).toBe(before);
      } finally {
        await Promise.all([x.close(), y.close()]);
        await padded.dispose();
      }
    }, 30_000);
  }
});
