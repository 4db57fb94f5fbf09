/**
 * Envelope ids in arrival order (layout in protocol.ts). Sans-IO: the caller passes the time.
 * A clock that steps back never makes ids go backwards: the last stamp is carried forward.
 */
import { randomFillSync } from 'node:crypto';
import { ENVELOPE_ID_BYTES } from '../../wire/envelope-protocol.js';

export class EnvelopeIdGenerator {
  private lastMs = 0;
  private seq = 0;

  /** `floorMs`: the newest arrival already stored, so ids stay ordered across restarts. */
  constructor(floorMs = 0) {
    this.lastMs = floorMs;
    this.seq = 0xffff; // the next id moves past the floor's millisecond
  }

  next(nowMs: number): Buffer {
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.seq = 0;
    } else if (this.seq < 0xffff) {
      this.seq++;
    } else {
      this.lastMs++;
      this.seq = 0;
    }
    const id = Buffer.allocUnsafe(ENVELOPE_ID_BYTES);
    id.writeUIntBE(this.lastMs, 0, 6);
    id.writeUInt16BE(this.seq, 6);
    randomFillSync(id, 8, 8);
    return id;
  }
}
