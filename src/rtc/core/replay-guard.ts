/**
 * Replay protection for an uplink RTP stream, after SRTP authentication (werift 0.24.4 decrypts
 * and authenticates SRTP but keeps no replay list: a captured packet sent again was forwarded).
 *
 * RFC 3711 §3.3.2 asks the receiver to keep a replay list over the packet index (ROC * 2^16 + SEQ);
 * the index is estimated from the 16-bit sequence number and the highest index seen as in RFC 3711
 * §3.3.1 / Appendix A. The list is the shared sliding window (wire/replay-window.ts, RFC 6479):
 * each index is accepted once; one more than the window's reach behind the highest is refused.
 * Sans-IO: numbers in, a verdict out.
 */
import { ReplayWindow } from '../../wire/replay-window.js';

const SEQ_SPAN = 65_536;
const HALF = 32_768;

export class ReplayGuard {
  private window = new ReplayWindow();
  /** Highest accepted index, -1 before the first packet. */
  private highest = -1;
  private ssrc = -1;

  /**
   * True when the packet (`ssrc`, 16-bit `seq`) is new and is recorded; false for a replay or a
   * packet too far behind. A new SSRC starts a new stream (the window restarts).
   */
  accept(ssrc: number, seq: number): boolean {
    if (ssrc !== this.ssrc) {
      this.ssrc = ssrc;
      this.window = new ReplayWindow();
      this.highest = -1;
    }
    const index = this.indexOf(seq);
    if (!this.window.check(index)) return false;
    this.window.commit(index);
    if (index > this.highest) this.highest = index;
    return true;
  }

  /** RFC 3711 Appendix A: the rollover counter guessed from the highest index seen. */
  private indexOf(seq: number): number {
    if (this.highest < 0) return SEQ_SPAN + seq; // ROC 1: a packet a little older than the first stays >= 0
    const roc = Math.floor(this.highest / SEQ_SPAN);
    const sl = this.highest % SEQ_SPAN;
    let v = roc;
    if (sl < HALF) {
      if (seq - sl > HALF) v = roc - 1;
    } else if (sl - HALF > seq) v = roc + 1;
    return v * SEQ_SPAN + seq;
  }
}
