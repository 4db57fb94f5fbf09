/**
 * The WebRTC SDK's frame sealing codec (src/client/rtc/frame-e2ee.ts) in Node: round trips for
 * audio and VP8 frames, one sealed size for every audio frame, oversize frames dropped and
 * counted, wrong keys / tampering / replays refused, RTC KIDs in their own range, and fuzzed
 * input never throwing on the receive path.
 */
import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CallKeys } from '../../src/client/call/e2e-keys.js';
import { FrameOpener, FrameSealer, SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { isRtcKid, keyOfKid, randomRtcKid } from '../../src/client/rtc/frame-keys.js';
import { AUDIO_PAD_BYTES, vp8ClearBytes } from '../../src/client/rtc/frame-policy.js';
import { E2eeEngine } from '../../src/client/rtc/e2ee-engine.js';

beforeAll(async () => {
  await sodium.ready;
});

const secret = (): Uint8Array => new Uint8Array(randomBytes(32));
/** A VP8 key frame tag (bit 0 = 0) or a delta frame tag (bit 0 = 1) followed by random bytes. */
function vp8Frame(len: number, key: boolean): Uint8Array {
  const f = new Uint8Array(randomBytes(len));
  f[0] = key ? f[0]! & 0xfe : f[0]! | 1;
  return f;
}

describe('RTC frame sealing', () => {
  it('audio: every frame, 0..80 bytes, seals to one size and opens to itself', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'audio');
    const rx = new FrameOpener('audio', () => keys);
    const sizes = new Set<number>();
    for (let n = 0; n <= AUDIO_PAD_BYTES; n++) {
      const f = new Uint8Array(randomBytes(n));
      const sealed = tx.seal(f)!;
      sizes.add(sealed.length);
      expect(rx.open(sealed)).toEqual(f);
    }
    expect(AUDIO_PAD_BYTES).toBe(80);
    expect([...sizes]).toEqual([SEALED_AUDIO_BYTES]);
    expect(SEALED_AUDIO_BYTES).toBe(114);
    expect(rx.stats).toMatchObject({ opened: 81, rejected: 0, replayed: 0, outMin: 0, outMax: 80 });
    expect(tx.stats).toMatchObject({ sealed: 81, oversize: 0, outMin: 114, outMax: 114 });
  });

  it('audio: a frame above the pad is dropped and counted, never sent in another size', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'audio');
    expect(tx.seal(new Uint8Array(81))).toBeUndefined();
    expect(tx.seal(new Uint8Array(1275))).toBeUndefined();
    expect(tx.stats).toMatchObject({ sealed: 0, oversize: 2 });
    expect(tx.seal(new Uint8Array(80))!.length).toBe(SEALED_AUDIO_BYTES);
  });

  it('video: 10 clear bytes of a key frame, 1 of a delta frame, the rest sealed; frames above 64 KiB too', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'video');
    const rx = new FrameOpener('video', () => keys);
    for (const [len, key] of [[1, false], [10, true], [5, true], [1200, true], [1200, false], [90_000, true], [70_000, false]] as const) {
      const f = vp8Frame(len, key);
      const sealed = tx.seal(f)!;
      const clear = vp8ClearBytes(f);
      expect(clear).toBe(Math.min(len, key ? 10 : 1));
      expect(sealed.subarray(0, clear)).toEqual(f.subarray(0, clear));
      expect(sealed.length).toBe(len + 34);
      // The sealed part shows nothing of the frame beyond the clear bytes.
      if (len > 64) expect(Buffer.from(sealed).includes(Buffer.from(f.subarray(clear, clear + 32)))).toBe(false);
      expect(rx.open(sealed)).toEqual(f);
    }
    expect(rx.stats.rejected).toBe(0);
    expect(tx.seal(new Uint8Array(0))!.length).toBe(0);
    expect(rx.open(new Uint8Array(0))!.length).toBe(0);
  });

  it('video: the clear bytes are authenticated (a changed clear byte is refused)', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'video');
    const rx = new FrameOpener('video', () => keys);
    const sealed = tx.seal(vp8Frame(500, true))!;
    const bad = sealed.slice();
    bad[6]! ^= 0x10; // width byte of the key frame header, in clear
    expect(rx.open(bad)).toBeUndefined();
    expect(rx.stats.rejected).toBe(1);
    expect(rx.open(sealed)).toBeDefined();
  });

  it('audio: an empty frame (an RTP padding-only packet of the edge) is dropped and counted as padding, not as a refused frame', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'audio');
    const rx = new FrameOpener('audio', () => keys);
    expect(rx.open(new Uint8Array(0))).toBeUndefined();
    expect(rx.open(tx.seal(new Uint8Array(80).fill(3))!)).toBeDefined();
    expect(rx.stats).toMatchObject({ padding: 1, rejected: 0, opened: 1, inMin: 114, outMin: 80 });
  });

  it('refuses another call secret, altered records and replays, counting each', () => {
    const keys = new CallKeys(secret());
    const tx = new FrameSealer(keys, randomRtcKid(), 'audio');
    const other = new FrameOpener('audio', () => new CallKeys(secret()));
    const rx = new FrameOpener('audio', () => keys);
    const a = tx.seal(new Uint8Array(60).fill(7))!;
    expect(other.open(a)).toBeUndefined();
    expect(other.stats).toMatchObject({ rejected: 1, opened: 0 });
    const flipped = a.slice();
    flipped[40]! ^= 1;
    expect(rx.open(flipped)).toBeUndefined();
    expect(rx.open(a)).toBeDefined();
    expect(rx.open(a)).toBeUndefined();
    expect(rx.stats).toMatchObject({ opened: 1, rejected: 1, replayed: 1 });
  });

  it('each sender has its own KID in the RTC range; two senders never share a key', () => {
    const keys = new CallKeys(secret());
    const kids = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const k = randomRtcKid();
      expect(isRtcKid(k)).toBe(true);
      expect(Number.isSafeInteger(k)).toBe(true);
      kids.add(k);
    }
    expect(kids.size).toBe(2000);
    const [k1, k2] = [...kids];
    expect(Buffer.from(keyOfKid(keys, k1!).key).equals(Buffer.from(keyOfKid(keys, k2!).key))).toBe(false);
    // Cell KIDs (epoch × 65536 + slot, epochs are roster counters) stay below the RTC range.
    expect(isRtcKid(4_000_000 * 65536 + 7)).toBe(false);
    // Two senders of one call, both from counter 0: each opens under its own KID only.
    const rx = new FrameOpener('audio', () => keys);
    const s1 = new FrameSealer(keys, k1!, 'audio').seal(new Uint8Array([1]))!;
    const s2 = new FrameSealer(keys, k2!, 'audio').seal(new Uint8Array([2]))!;
    expect([rx.open(s1)?.[0], rx.open(s2)?.[0]]).toEqual([1, 2]);
  });

  it('a rekey gives every sender a new KID; the receiver opens both sides of the switch', () => {
    const s1 = secret();
    const tx = new E2eeEngine(s1);
    const rx = new E2eeEngine(s1);
    const sealer = tx.step({ side: 'send', kind: 'audio', kid: randomRtcKid() }) as FrameSealer;
    const opener = rx.step({ side: 'recv', kind: 'audio', id: '2' }) as FrameOpener;
    const before = sealer.seal(new Uint8Array([1]))!;
    const kid0 = sealer.kid;
    const s2 = secret();
    tx.rekey(s2);
    rx.rekey(s2);
    const after = sealer.seal(new Uint8Array([2]))!;
    expect(sealer.kid).not.toBe(kid0);
    expect(opener.open(after)?.[0]).toBe(2);
    expect(opener.open(before)?.[0]).toBe(1); // in flight from before the switch
    expect(rx.report().byReceiver['2']).toMatchObject({ opened: 2, rejected: 0 });
    expect(tx.report().send.audio).toMatchObject({ sealed: 2 });
  });

  it('fuzz: random and mutated frames never throw on the receive path, and never open', () => {
    const keys = new CallKeys(secret());
    const audio = new FrameOpener('audio', () => keys);
    const video = new FrameOpener('video', () => keys);
    const txv = new FrameSealer(keys, randomRtcKid(), 'video');
    const txa = new FrameSealer(keys, randomRtcKid(), 'audio');
    let opened = 0;
    for (let i = 0; i < 3000; i++) {
      const r = new Uint8Array(randomBytes(i % 300));
      if (i % 3 === 0 && r.length > 0) r[0] = 0xdf; // looks like a record header
      const base = i % 2 === 0 ? txa.seal(new Uint8Array(randomBytes(i % 81)))! : txv.seal(vp8Frame(1 + (i % 400), i % 4 === 1))!;
      const mutated = base.slice(0, base.length - (i % 5));
      if (mutated.length > 0) mutated[i % mutated.length]! ^= 1 << i % 8;
      for (const input of [r, mutated]) {
        expect(() => audio.open(input)).not.toThrow();
        expect(() => video.open(input)).not.toThrow();
        if (audio.open(input) !== undefined) opened++;
        if (input.length > 0 && video.open(input) !== undefined) opened++;
      }
    }
    expect(opened).toBe(0);
    expect(audio.stats.rejected + audio.stats.replayed).toBeGreaterThan(5000);
  });
});
