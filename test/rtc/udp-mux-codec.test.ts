// The one UDP port's readers and table, without sockets: the STUN check reader against RFC 5769's
// vector and checks written by the TURN plane's encoder (an independent implementation), seeded
// random mutations (never a throw), DTLS record framing, and the sans-IO demux table (latching,
// the per-session bound and its LRU eviction, a 5-tuple moving between sessions, removal).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DTLS_CLEAR_ALERT, DTLS_CLEAR_RECORD, DTLS_MALFORMED, readDtlsRecords } from '../../src/rtc/codec/dtls-record.js';

const dtlsRecordsWellFormed = (b: Buffer): boolean => readDtlsRecords(b) !== DTLS_MALFORMED;
import { fingerprintMatches, localUfrag, readStun, STUN_BINDING, STUN_REQUEST, STUN_SUCCESS, stunFields, verifyStunIntegrity } from '../../src/rtc/codec/stun-check.js';
import { UdpDemux } from '../../src/rtc/core/udp-demux.js';
import { Attr, Method, StunClass, StunWriter } from '../../src/turn/codec/index.js';
import { seededRng } from '../../src/load/rng.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** RFC 5769 §2.1: a Binding request with USERNAME "evtj:h6vY", short-term password below, FINGERPRINT. */
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
const SAMPLE_KEY = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');

function check(username: string, key: Buffer, opts: { fingerprint?: boolean; integrity?: boolean } = {}): Buffer {
  const w = new StunWriter().begin(Method.binding, StunClass.request, randomBytes(12)).string(Attr.username, username).u32(Attr.priority, 0x6e0001ff);
  if (opts.integrity !== false) w.integrity(key);
  if (opts.fingerprint !== false) w.fingerprint();
  return w.finish();
}

describe('STUN check reader (RFC 8489)', () => {
  it('reads RFC 5769 §2.1: class, method, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT', () => {
    const f = stunFields();
    expect(readStun(SAMPLE_REQUEST, f)).toBe(true);
    expect([f.cls, f.method]).toEqual([STUN_REQUEST, STUN_BINDING]);
    expect(localUfrag(SAMPLE_REQUEST, f)).toBe('evtj');
    expect(verifyStunIntegrity(SAMPLE_REQUEST, f, SAMPLE_KEY)).toBe(true);
    expect(verifyStunIntegrity(SAMPLE_REQUEST, f, Buffer.from('VOkJxbRl1RmTxUk/WvJxBu'))).toBe(false);
    expect(fingerprintMatches(SAMPLE_REQUEST, f)).toBe(true);
    const before = Buffer.from(SAMPLE_REQUEST);
    verifyStunIntegrity(SAMPLE_REQUEST, f, SAMPLE_KEY);
    expect(SAMPLE_REQUEST.equals(before)).toBe(true); // the bytes are not touched
  });

  it('checks written by another encoder: with and without FINGERPRINT, tampered bytes, a success response', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const f = stunFields();
    for (const fingerprint of [true, false]) {
      const m = check('aaaabbbbccccdddd:Xy/+', key, { fingerprint });
      expect(readStun(m, f)).toBe(true);
      expect(localUfrag(m, f)).toBe('aaaabbbbccccdddd');
      expect(verifyStunIntegrity(m, f, key)).toBe(true);
      expect(fingerprintMatches(m, f)).toBe(true);
      expect(f.fingerprintAt >= 0).toBe(fingerprint);
      const t = Buffer.from(m);
      t[30]! ^= 1; // inside PRIORITY/USERNAME: integrity fails; fingerprint too when present
      expect(readStun(t, f)).toBe(true);
      expect(verifyStunIntegrity(t, f, key)).toBe(false);
      expect(fingerprintMatches(t, f)).toBe(!fingerprint);
    }
    const noMi = check('u:v', key, { integrity: false });
    expect(readStun(noMi, f)).toBe(true);
    expect(f.integrityAt).toBe(-1);
    expect(verifyStunIntegrity(noMi, f, key)).toBe(false);
    expect(localUfrag(check('nocolon', key), (readStun(check('nocolon', key), f), f))).toBeUndefined();
    const ok = new StunWriter().begin(Method.binding, StunClass.success, randomBytes(12)).address(Attr.xorMappedAddress, '127.0.0.1', 5000).integrity(key).fingerprint().finish();
    expect(readStun(ok, f)).toBe(true);
    expect(f.cls).toBe(STUN_SUCCESS);
  });

  it('refuses malformed headers and attributes', () => {
    const f = stunFields();
    const m = check('a:b', Buffer.from('k'));
    const bad: Buffer[] = [
      Buffer.alloc(0),
      m.subarray(0, 19),
      m.subarray(0, m.length - 4), // length field says more
      Buffer.concat([m, Buffer.alloc(4)]), // trailing bytes
      (() => { const b = Buffer.from(m); b[0] = 0x40; return b; })(), // top bits not zero
      (() => { const b = Buffer.from(m); b[4] = 0; return b; })(), // no magic cookie
      (() => { const b = Buffer.from(m); b.writeUInt16BE(b.readUInt16BE(2) + 2, 2); return Buffer.concat([b, Buffer.alloc(2)]); })(), // length not a multiple of 4
      (() => { const b = Buffer.from(m); b.writeUInt16BE(0x0fff, 22); return b; })(), // USERNAME runs past the end
      Buffer.concat([m, hex('00060000')]).fill(0, 2, 4), // an attribute after FINGERPRINT (length fixed below)
    ];
    bad[bad.length - 1]!.writeUInt16BE(bad[bad.length - 1]!.length - 20, 2);
    for (const b of bad) expect(readStun(b, f)).toBe(false);
  });

  it('never throws on seeded random mutations (60 000), and what it accepts it can verify', () => {
    const rnd = seededRng(20261130);
    const key = Buffer.from('k'.repeat(32));
    const seeds = [SAMPLE_REQUEST, check('aaaa:bbbb', key), check('x:y', key, { fingerprint: false })];
    const f = stunFields();
    let accepted = 0;
    for (let i = 0; i < 60_000; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      if (readStun(cut, f)) {
        accepted++;
        localUfrag(cut, f);
        if (f.integrityAt >= 0) verifyStunIntegrity(cut, f, key);
        fingerprintMatches(cut, f);
      }
      readDtlsRecords(cut);
    }
    console.log(`STUN reader: ${accepted} of 60000 mutated messages well-formed`);
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('DTLS record framing (RFC 6347 §4.1)', () => {
  const record = (type: number, len: number, version = 0xfefd, epoch = 1): Buffer => {
    const b = Buffer.alloc(13 + len, 0xab);
    b[0] = type;
    b.writeUInt16BE(version, 1);
    b.writeUInt16BE(epoch, 3);
    b.writeUInt16BE(len, 11);
    return b;
  };
  it('accepts whole DTLS 1.0/1.2 records, one or several per datagram', () => {
    expect(dtlsRecordsWellFormed(record(22, 100, 0xfeff))).toBe(true);
    expect(dtlsRecordsWellFormed(Buffer.concat([record(22, 60), record(20, 1), record(22, 40)]))).toBe(true);
    expect(dtlsRecordsWellFormed(record(23, 0))).toBe(true);
  });
  it('refuses cut records, trailing bytes, unknown types and versions, oversize lengths', () => {
    expect(dtlsRecordsWellFormed(Buffer.alloc(0))).toBe(false);
    expect(dtlsRecordsWellFormed(record(22, 100).subarray(0, 50))).toBe(false);
    expect(dtlsRecordsWellFormed(Buffer.concat([record(22, 10), Buffer.from([22, 0xfe])]))).toBe(false);
    expect(dtlsRecordsWellFormed(record(24, 10))).toBe(false); // heartbeat: not negotiated
    expect(dtlsRecordsWellFormed(record(25, 10))).toBe(false); // connection id records: not negotiated
    expect(dtlsRecordsWellFormed(record(0x2f, 10))).toBe(false); // DTLS 1.3 unified header
    expect(dtlsRecordsWellFormed(record(22, 10, 0x0303))).toBe(false); // TLS, not DTLS
    expect(dtlsRecordsWellFormed(record(23, 16_384 + 2049))).toBe(false);
  });

  it('tells what is in clear: epoch-0 records other than ChangeCipherSpec, alerts werift would read in clear', () => {
    expect(readDtlsRecords(record(23, 40))).toBe(0);
    expect(readDtlsRecords(Buffer.concat([record(20, 1, 0xfefd, 0), record(22, 40)]))).toBe(0); // a retransmitted CCS, then a protected Finished
    expect(readDtlsRecords(record(22, 40, 0xfefd, 0))).toBe(DTLS_CLEAR_RECORD);
    const protectedAlert = record(21, 26);
    protectedAlert.writeUInt16BE(1, 13); // explicit nonce = epoch 1 || sequence
    expect(readDtlsRecords(protectedAlert)).toBe(0);
    const clearAlert = record(21, 2, 0xfefd, 0);
    clearAlert[13] = 1;
    clearAlert[14] = 0; // warning close_notify
    expect(readDtlsRecords(clearAlert)).toBe(DTLS_CLEAR_RECORD | DTLS_CLEAR_ALERT);
    const forged = record(21, 26);
    forged[13] = 2; // an epoch-1 alert whose first bytes read as a fatal alert
    expect(readDtlsRecords(forged)).toBe(DTLS_CLEAR_ALERT);
  });
});

describe('UDP demux table', () => {
  it('latches 5-tuples to sessions, bounds them per session (LRU), moves one between sessions, and forgets on removal', () => {
    const d = new UdpDemux<string>(2);
    const a = d.add('ua', 'A')!;
    const b = d.add('ub', 'B')!;
    expect(d.add('ua', 'again')).toBeUndefined();
    expect(d.session('ua')).toBe(a);
    expect(d.find('10.0.0.1', 1)).toBeUndefined();
    expect(d.latch(a, '10.0.0.1', 1).evicted).toBe(false);
    expect(d.latch(a, '10.0.0.1', 2).evicted).toBe(false);
    expect(d.find('10.0.0.1', 1)!.session.value).toBe('A'); // 1 is now more recent than 2
    const third = d.latch(a, '10.0.0.2', 1);
    expect(third.evicted).toBe(true);
    expect(d.find('10.0.0.1', 2)).toBeUndefined(); // the least recently used one went
    expect(d.find('10.0.0.1', 1)!.addr).toEqual(['10.0.0.1', 1]);
    expect(d.tupleCount).toBe(2);
    // a check for b from a's 5-tuple moves it
    d.latch(b, '10.0.0.1', 1);
    expect(d.find('10.0.0.1', 1)!.session).toBe(b);
    expect([a.tuples.length, b.tuples.length, d.tupleCount]).toEqual([1, 1, 2]);
    // the same latch again is a no-op
    expect(d.latch(b, '10.0.0.1', 1).evicted).toBe(false);
    expect(d.tupleCount).toBe(2);
    d.remove(a);
    d.remove(a);
    expect(d.find('10.0.0.2', 1)).toBeUndefined();
    expect(d.session('ua')).toBeUndefined();
    d.remove(b);
    expect([d.sessionCount, d.tupleCount]).toEqual([0, 0]);
    expect(() => new UdpDemux(0)).toThrow(RangeError);
  });
});
