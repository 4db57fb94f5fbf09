/**
 * Fail closed: a sender whose frames leave without passing the sealing transform is caught by
 * comparing what the transform sealed with what the browser says it sent. Sans-IO and portable:
 * the caller feeds two counters per kind at each check and gets the kinds that went out unsealed.
 *
 * Why it is needed: the transform is attached by the SDK, but a browser may bypass it (Chromium
 * 156 did so for RTCRtpScriptTransform on answerer-created video senders, docs/RTC-E2EE.md), and
 * an app could replace `sender.transform`. Audio: one RTP packet per frame (packetsSent). Video:
 * framesSent (getStats outbound-rtp). Between two checks the browser cannot send more frames than
 * were sealed, give or take the frames in flight between reading the two counters (`slack`).
 */
import type { RtcMediaKind } from './frame-e2ee.js';

export interface SealCounts {
  /** Frames the transform sealed (or dropped as oversize: those were not sent). */
  sealed: number;
  /** Frames the browser sent: audio packetsSent, video framesSent. */
  sent: number;
}

export class SealWatch {
  private last: Partial<Record<RtcMediaKind, SealCounts>> = {};

  constructor(private readonly slack = 10) {}

  /** Kinds that sent more than they sealed since the previous check (empty when all is well). */
  check(now: Partial<Record<RtcMediaKind, SealCounts>>): RtcMediaKind[] {
    const bad: RtcMediaKind[] = [];
    for (const kind of ['audio', 'video'] as const) {
      const n = now[kind];
      if (n === undefined) continue;
      const p = this.last[kind] ?? { sealed: 0, sent: 0 };
      if (n.sent - p.sent > n.sealed - p.sealed + this.slack) bad.push(kind);
      this.last[kind] = n;
    }
    return bad;
  }
}
