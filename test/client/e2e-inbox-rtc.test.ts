// Mixed rooms, the cell client's side: a WebRTC member's frame (FrameSealer, random RTC key id with
// the top bit set, 114 bytes) opens in a cell client's inbox whatever slot the relay's bridge gave
// it, through the one key schedule; a cell key id must still name the slot it arrives on; replays
// and forged RTC key ids are refused. The browser's side: a cell client's record (cell KID, its
// own padded size) opens in FrameOpener; its e2e-padding dummies are counted as dummies, not refusals.
import { beforeAll, describe, expect, it } from 'vitest';
import { E2eInbox } from '../../src/client/call/e2e-inbox.js';
import { CallKeys, kidOf } from '../../src/client/call/e2e-keys.js';
import { emptyCallStats, type CallFrame } from '../../src/client/call/call-types.js';
import { sealRecord } from '../../src/client/call/sframe.js';
import { FrameOpener, FrameSealer, SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { randomRtcKid } from '../../src/client/rtc/frame-keys.js';
import { ready } from '../../src/client/ready.js';

beforeAll(async () => {
  await ready();
});

describe('E2eInbox and RTC key ids', () => {
  it('opens a browser frame on any slot; refuses a replay, another call secret and a cell KID on the wrong slot', () => {
    const keys = new CallKeys(new Uint8Array(32).fill(7));
    const stats = emptyCallStats();
    const inbox = new E2eInbox(stats);
    const got: CallFrame[] = [];
    const deliver = (f: CallFrame): void => void got.push(f);
    const sealer = new FrameSealer(keys, randomRtcKid(), 'audio');
    const frame = sealer.seal(new Uint8Array(80).fill(0x5a))!;
    expect(frame.length).toBe(SEALED_AUDIO_BYTES);
    inbox.open(3, frame, keys, undefined, deliver); // slot 3: the bridge's slot for that browser
    expect(got.map((f) => [f.slot, f.data.length, f.data[0]])).toEqual([[3, 80, 0x5a]]);
    inbox.open(3, frame, keys, undefined, deliver); // replay
    const other = new FrameSealer(new CallKeys(new Uint8Array(32).fill(8)), randomRtcKid(), 'audio');
    inbox.open(3, other.seal(new Uint8Array(10))!, keys, undefined, deliver); // another call
    // a cell sender's KID names its slot: on another slot it is refused before any key work
    inbox.open(4, sealRecord(keys.sender(2, 5), kidOf(2, 5), 0, new Uint8Array(10), 121), keys, undefined, deliver);
    inbox.open(5, sealRecord(keys.sender(2, 5), kidOf(2, 5), 1, new Uint8Array(10), 121), keys, undefined, deliver);
    expect(got.length).toBe(2);
    expect(got[1]!.slot).toBe(5);
    expect(stats.e2eRejected).toBe(3);
    expect(stats.packetsReceived).toBe(2);
  });

  it('FrameOpener opens a cell client records of any padded size; dummies are counted apart and replays refused', () => {
    const keys = new CallKeys(new Uint8Array(32).fill(9));
    const opener = new FrameOpener('audio', () => keys);
    const kid = kidOf(3, 2);
    const media = sealRecord(keys.sender(3, 2), kid, 10, new Uint8Array(80).fill(0x33), 121); // default cell capacity: 155 B
    const dummy = sealRecord(keys.sender(3, 2), kid, 11, undefined, 121);
    expect(media.length).toBe(155);
    expect([...opener.open(media)!]).toEqual(new Array(80).fill(0x33));
    expect(opener.open(dummy)).toBeUndefined();
    expect(opener.open(dummy)).toBeUndefined(); // replayed dummy
    expect(opener.open(media)).toBeUndefined(); // replayed media
    expect(opener.stats).toMatchObject({ opened: 1, dummies: 1, replayed: 2, rejected: 0 });
  });
});
