import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BODY_MALFORMED, BODY_OK, BodyWriter, parseBody, RecordRefs } from '../../src/media/codec/cell-body.js';
import { readCounter, readSession, writeHeader, wireBytes, maxRecordPayload } from '../../src/media/codec/cell-layout.js';
import { parseRoster, writeRoster } from '../../src/media/codec/control-records.js';
import { DEFAULT_PROFILES, parseProfiles, wireBitrate } from '../../src/media/codec/profiles.js';

describe('cell header', () => {
  it.each([
    [0, 0, '000000000000000000000000'],
    [0xffffffff, 1, 'ffffffff0000000000000001'],
    [0x10002, 2 ** 32 + 3, '000100020000000100000003'],
  ])('session %i counter %i -> %s', (s, c, h) => {
    const b = new Uint8Array(12);
    writeHeader(b, s, c);
    expect(Buffer.from(b).toString('hex')).toBe(h);
    expect(readSession(b)).toBe(s);
    expect(readCounter(b)).toBe(c);
  });

  it('refuses short headers and counters past 2^53', () => {
    expect(readSession(new Uint8Array(11))).toBe(-1);
    expect(readCounter(Buffer.from('00000001ffffffffffffffff', 'hex'))).toBe(-1);
  });
});

describe('cell body', () => {
  it('round-trips records and padding', () => {
    const body = new Uint8Array(100);
    const w = new BodyWriter();
    w.reset(body);
    expect(w.add(1, Buffer.from('abc'))).toBe(true);
    expect(w.add(0xffff, Buffer.from('z'))).toBe(true);
    expect(w.add(2, new Uint8Array(200))).toBe(false);
    expect(w.finish()).toBe(2);
    const refs = new RecordRefs();
    expect(parseBody(body, refs)).toBe(BODY_OK);
    expect(refs.count).toBe(2);
    expect([refs.slots[0], refs.slots[1]]).toEqual([1, 0xffff]);
    expect(Buffer.from(body.subarray(refs.offsets[0], refs.offsets[0]! + refs.lengths[0]!)).toString()).toBe('abc');
  });

  it('a zero body is a dummy', () => {
    const refs = new RecordRefs();
    expect(parseBody(new Uint8Array(64), refs)).toBe(BODY_OK);
    expect(refs.count).toBe(0);
  });

  it.each([
    ['count past end', '0200010003616263'],
    ['length past end', '0100010009616263'],
    ['zero-length record', '01000100000000'],
    ['non-zero padding', '0000000001'],
    ['empty', ''],
  ])('refuses %s', (_, h) => {
    expect(parseBody(Buffer.from(h, 'hex'), new RecordRefs())).toBe(BODY_MALFORMED);
  });

  it('never throws on 20000 random and mutated bodies', () => {
    const refs = new RecordRefs();
    const w = new BodyWriter();
    for (let i = 0; i < 20000; i++) {
      let body: Uint8Array;
      if (i % 2 === 0) body = randomBytes(1 + (i % 300));
      else {
        body = new Uint8Array(160);
        w.reset(body);
        w.add(i & 0xff, randomBytes(1 + (i % 50)));
        w.finish();
        body[i % 160]! ^= 1 << (i % 8);
      }
      const code = parseBody(body, refs);
      expect(code === BODY_OK || code === BODY_MALFORMED).toBe(true);
      if (code === BODY_OK) for (let r = 0; r < refs.count; r++) expect(refs.offsets[r]! + refs.lengths[r]!).toBeLessThanOrEqual(body.length);
    }
  });
});

describe('control records and profiles', () => {
  it('round-trips a roster', () => {
    const buf = new Uint8Array(64);
    const n = writeRoster(buf, 7, 2, [0, 1, 2], 3);
    expect(Buffer.from(buf.subarray(0, n)).toString('hex')).toBe('010000000700020003000000010002');
    expect(parseRoster(buf.subarray(0, n))).toEqual({ epoch: 7, yourSlot: 2, slots: [0, 1, 2] });
    expect(parseRoster(buf.subarray(0, n - 1))).toBeUndefined();
  });

  it('parses the default profiles and reports their bitrates', () => {
    const profiles = parseProfiles(DEFAULT_PROFILES);
    if (typeof profiles === 'string') throw new Error(profiles);
    expect(profiles.map((p) => p.name)).toEqual(['audio', 'audio-room', 'video']);
    expect(wireBytes(160)).toBe(188);
    expect(maxRecordPayload(160)).toBe(155);
    expect(wireBitrate(160, 20)).toBe(86_400);
    expect(parseProfiles(['x:0:100:100'])).toMatch(/tickMs/);
    expect(parseProfiles(['bad'])).toMatch(/not name/);
    expect(parseProfiles(['a:20:10:100'])).toMatch(/body sizes/);
  });
});
