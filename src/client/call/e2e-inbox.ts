/**
 * The receiving end of a call's end-to-end layer: a record's header is checked against its slot,
 * its counter against the sender key's replay window (one per key id, the 512 most recent kept),
 * then it is opened with the current call secret or the one before a rekey. Rejections and dummies
 * are counted, never thrown: this runs for every record.
 *
 * Mixed rooms (docs/RTC.md): a WebRTC member's frames reach cell clients as records of the slot
 * the relay's bridge holds for it, sealed under the browser's own key id: random, top bit set
 * (src/client/rtc/frame-keys.ts), so its low 16 bits name no slot. Such a KID is not checked
 * against the slot; its key comes from the same schedule, (epoch, slot) = (KID >> 16, KID & 0xffff).
 * Its records are 114 bytes whatever this client's own record size (any length opens).
 */
import { ReplayWindow } from '../../wire/replay-window.js';
import type { CallFrame, CallStats } from './call-types.js';
import type { CallKeys } from './e2e-keys.js';
import { openRecord, readRecordHeader } from './sframe.js';

const MAX_WINDOWS = 512;
/** WebRTC sender KIDs have the top bit of 48 set (src/client/rtc/frame-keys.ts). */
const RTC_KID_MIN = 2 ** 47;

export class E2eInbox {
  private readonly windows = new Map<number, ReplayWindow>();

  constructor(private readonly stats: CallStats) {}

  /** Opens one media record of `slot`; hands a real packet to `deliver`, counts the rest. */
  open(slot: number, rec: Uint8Array, keys: CallKeys, oldKeys: CallKeys | undefined, deliver: (frame: CallFrame) => void): void {
    const h = readRecordHeader(rec);
    if (h === undefined || (h.kid % 0x10000 !== slot && h.kid < RTC_KID_MIN)) {
      this.stats.e2eRejected++;
      return;
    }
    const epoch = Math.floor(h.kid / 0x10000);
    const keySlot = h.kid % 0x10000;
    let window = this.windows.get(h.kid);
    if (window === undefined) {
      if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
      window = new ReplayWindow();
      this.windows.set(h.kid, window);
    }
    if (!window.check(h.ctr)) {
      this.stats.e2eRejected++;
      return;
    }
    const opened = openRecord(keys.sender(epoch, keySlot), rec) ?? (oldKeys && openRecord(oldKeys.sender(epoch, keySlot), rec));
    if (opened === undefined) {
      this.stats.e2eRejected++;
      return;
    }
    window.commit(h.ctr);
    if (opened.dummy) {
      this.stats.dummiesReceived++;
      return;
    }
    this.stats.packetsReceived++;
    deliver({ slot, data: opened.packet, epoch, ctr: h.ctr });
  }
}
