/**
 * Members of an RTC room as the page sees them: the relay's roster maps receive slots (mids) to
 * opaque member tags; each member gets one MediaStream holding the tracks of its current slots.
 * Browser only (MediaStream). Diffing is here so RtcCall stays an orchestrator.
 */
import type { RtcRoster } from './roster.js';
import { rtcGlobals, type MediaStreamLike, type MediaStreamTrackLike } from './webrtc-dom.js';

export interface RtcMember {
  /** Opaque per-session tag from the relay (not an identity: the app maps it through its own signalling if it needs to). */
  readonly tag: string;
  /** The member's audio (and video) as received and opened: play it in an <audio>/<video> element. */
  readonly stream: MediaStreamLike;
  /** mids currently carrying this member. */
  mids: string[];
}

export interface RosterChange {
  joined: RtcMember[];
  left: RtcMember[];
}

export class RtcMembers {
  readonly byTag = new Map<string, RtcMember>();

  /** `trackOf(mid)`: the receiver track of a receive slot, undefined for a mid this call does not have. */
  constructor(private readonly trackOf: (mid: string) => MediaStreamTrackLike | undefined) {}

  apply(roster: RtcRoster): RosterChange {
    const want = new Map<string, string[]>();
    for (const s of roster.slots) {
      if (this.trackOf(s.mid) === undefined) continue;
      want.set(s.member, [...(want.get(s.member) ?? []), s.mid]);
    }
    const left: RtcMember[] = [];
    for (const [tag, m] of this.byTag) {
      if (want.has(tag)) continue;
      for (const t of m.stream.getTracks()) m.stream.removeTrack(t);
      this.byTag.delete(tag);
      left.push(m);
    }
    const joined: RtcMember[] = [];
    for (const [tag, mids] of want) {
      let m = this.byTag.get(tag);
      if (m === undefined) {
        m = { tag, stream: new (rtcGlobals().MediaStream!)([]), mids: [] };
        this.byTag.set(tag, m);
        joined.push(m);
      }
      const tracks = mids.map((mid) => this.trackOf(mid)!);
      for (const t of m.stream.getTracks()) if (!tracks.includes(t)) m.stream.removeTrack(t);
      const have = m.stream.getTracks();
      for (const t of tracks) if (!have.includes(t)) m.stream.addTrack(t);
      m.mids = mids;
    }
    return { joined, left };
  }
}
