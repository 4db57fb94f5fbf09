/**
 * End-to-end sealing of WebRTC encoded frames (what RTCRtpScriptTransform / createEncodedStreams
 * hand over, before RTP packetization and after depacketization). Portable: Uint8Array in and
 * out, usable from Node, a worker or a page. Every record is an SFrame record of sframe.ts
 * (RFC 9605 §4.3 header, ChaCha20-Poly1305), keys from the call secret (e2e-keys.ts, frame-keys.ts).
 *
 *   audio frame on the wire = record(padded to AUDIO_PAD_BYTES)                 (always 114 bytes)
 *   video frame on the wire = clear VP8 bytes (1 or 10) || record(unpadded, aad metadata = clear)
 *
 * Hot path: one call per frame, no exception on bad input (undefined + a counter), counters are
 * plain numbers a caller can read at any time.
 */
import { ReplayWindow } from '../../wire/replay-window.js';
import type { CallKeys } from '../call/e2e-keys.js';
import { openRecord, readRecordHeader, recordBytes, sealRecord, sealUnpaddedRecord } from '../call/sframe.js';
import { keyOfKid } from './frame-keys.js';
import { AUDIO_PAD_BYTES, vp8ClearBytes } from './frame-policy.js';

export type RtcMediaKind = 'audio' | 'video';

/** Counters of one direction of one track (or their sum). */
export interface RtcE2eStats {
  /** Frames sealed and passed on. */
  sealed: number;
  /** Audio frames larger than the pad: dropped, never sent in another size. */
  oversize: number;
  /** Frames opened and handed to the decoder. */
  opened: number;
  /** Frames that did not open (not a record, wrong key, altered, too short): dropped. */
  rejected: number;
  /** Frames whose counter was already seen or too old: dropped. */
  replayed: number;
  /**
   * Empty audio frames: RTP padding-only packets (RFC 3550 §5.1; the edge pads every audio slot to
   * a constant rate, docs/RTC.md) that Chromium hands to the transform as frames. Nothing to open:
   * dropped, and not counted as `rejected` (they are not forgeries).
   */
  padding: number;
  /**
   * Dummy records that opened and were dropped: a cell client's end-to-end padding in a mixed room
   * (docs/RTC.md, "Mixed rooms"); browsers never send them.
   */
  dummies: number;
  /** Smallest and largest frame the encoder (send) or the network (receive) handed over; Infinity/0 before the first. */
  inMin: number;
  inMax: number;
  /** Smallest and largest frame passed on (sealed on send, opened on receive). */
  outMin: number;
  outMax: number;
}

export function emptyRtcE2eStats(): RtcE2eStats {
  return { sealed: 0, oversize: 0, opened: 0, rejected: 0, replayed: 0, padding: 0, dummies: 0, inMin: Infinity, inMax: 0, outMin: Infinity, outMax: 0 };
}

export function addRtcE2eStats(into: RtcE2eStats, s: RtcE2eStats): RtcE2eStats {
  into.sealed += s.sealed;
  into.oversize += s.oversize;
  into.opened += s.opened;
  into.rejected += s.rejected;
  into.replayed += s.replayed;
  into.padding += s.padding;
  into.dummies += s.dummies;
  into.inMin = Math.min(into.inMin, s.inMin);
  into.inMax = Math.max(into.inMax, s.inMax);
  into.outMin = Math.min(into.outMin, s.outMin);
  into.outMax = Math.max(into.outMax, s.outMax);
  return into;
}

function noteSizes(st: RtcE2eStats, inLen: number, out: Uint8Array | undefined): Uint8Array | undefined {
  if (inLen < st.inMin) st.inMin = inLen;
  if (inLen > st.inMax) st.inMax = inLen;
  if (out !== undefined) {
    if (out.length < st.outMin) st.outMin = out.length;
    if (out.length > st.outMax) st.outMax = out.length;
  }
  return out;
}

const RECORD_OVERHEAD = recordBytes(0);

/** Size of every sealed audio frame on the wire. */
export const SEALED_AUDIO_BYTES = recordBytes(AUDIO_PAD_BYTES);

/** Seals the frames of one sending track under one KID, counter from 0. */
export class FrameSealer {
  readonly stats = emptyRtcE2eStats();
  private ctr = 0;

  constructor(
    private keys: CallKeys,
    private kidNow: number,
    readonly kind: RtcMediaKind,
    private readonly padBytes = AUDIO_PAD_BYTES,
  ) {}

  get kid(): number {
    return this.kidNow;
  }

  /** New call keys: a fresh KID (frame-keys.ts) and a counter from 0 under it. */
  rekey(keys: CallKeys, kid: number): void {
    this.keys = keys;
    this.kidNow = kid;
    this.ctr = 0;
  }

  /** The frame as it goes to the packetizer, or undefined (dropped, counted). */
  seal(frame: Uint8Array): Uint8Array | undefined {
    return noteSizes(this.stats, frame.length, this.sealFrame(frame));
  }

  private sealFrame(frame: Uint8Array): Uint8Array | undefined {
    const key = keyOfKid(this.keys, this.kid);
    if (this.kind === 'audio') {
      if (frame.length > this.padBytes) {
        this.stats.oversize++;
        return undefined;
      }
      this.stats.sealed++;
      return sealRecord(key, this.kid, this.ctr++, frame, this.padBytes);
    }
    if (frame.length === 0) {
      this.stats.sealed++; // nothing to hide; passed on as is (and counted, for SealWatch)
      return frame;
    }
    const clear = vp8ClearBytes(frame);
    const head = frame.subarray(0, clear);
    const rec = sealUnpaddedRecord(key, this.kid, this.ctr++, frame.subarray(clear), head);
    const out = new Uint8Array(clear + rec.length);
    out.set(head);
    out.set(rec, clear);
    this.stats.sealed++;
    return out;
  }
}

const MAX_WINDOWS = 64;

/**
 * Opens the frames of one receiving track (any sender: the KID says whose key). `keys()` is read
 * per frame so a rekey takes effect at once; `previous()` opens frames sealed before it.
 */
export class FrameOpener {
  readonly stats = emptyRtcE2eStats();
  private readonly windows = new Map<number, ReplayWindow>();

  constructor(
    readonly kind: RtcMediaKind,
    private readonly keys: () => CallKeys,
    private readonly previous: () => CallKeys | undefined = () => undefined,
  ) {}

  /** The original encoded frame, or undefined (dropped, counted). */
  open(data: Uint8Array): Uint8Array | undefined {
    if (data.length === 0 && this.kind === 'audio') {
      this.stats.padding++;
      return undefined;
    }
    return noteSizes(this.stats, data.length, this.openFrame(data));
  }

  private openFrame(data: Uint8Array): Uint8Array | undefined {
    if (data.length === 0 && this.kind === 'video') return data;
    // The sender kept min(rule, frame length) bytes in clear and the record adds 34: same split here.
    const clear = this.kind === 'video' ? Math.max(0, Math.min(vp8ClearBytes(data), data.length - RECORD_OVERHEAD)) : 0;
    const rec = data.subarray(clear);
    const h = readRecordHeader(rec);
    if (h === undefined) {
      this.stats.rejected++;
      return undefined;
    }
    // A window exists only for KIDs that authenticated once: forged KIDs cannot evict real ones.
    const window = this.windows.get(h.kid);
    if (window !== undefined && !window.check(h.ctr)) {
      this.stats.replayed++;
      return undefined;
    }
    const head = data.subarray(0, clear);
    const prev = this.previous();
    const opened = openRecord(keyOfKid(this.keys(), h.kid), rec, head) ?? (prev && openRecord(keyOfKid(prev, h.kid), rec, head));
    if (opened === undefined) {
      this.stats.rejected++;
      return undefined;
    }
    (window ?? this.newWindow(h.kid)).commit(h.ctr);
    if (opened.dummy) {
      this.stats.dummies++;
      return undefined;
    }
    this.stats.opened++;
    if (clear === 0) return opened.packet;
    const out = new Uint8Array(clear + opened.packet.length);
    out.set(head);
    out.set(opened.packet, clear);
    return out;
  }

  private newWindow(kid: number): ReplayWindow {
    if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    const w = new ReplayWindow();
    this.windows.set(kid, w);
    return w;
  }
}
