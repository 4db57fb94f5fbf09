// The cell bridge against the TypeScript MediaCore in process, with injected time and an edge port
// that records what it is asked: which cell slots become edge members (never the bridge's own),
// what reaches which browser (records untouched, one stream per receiver), a departed browser's
// slot not mistaken for a cell member, refusals passed through, oversize frames counted.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CellBridge } from '../../src/bridge/cell-bridge.js';
import { parseProfiles } from '../../src/media/codec/profiles.js';
import { MediaCore, SendBatch } from '../../src/media/core/media-core.js';
import type { ExternalSink } from '../../src/media/dataplane/data-plane.js';
import { cellKey, sealCell } from '../../src/media/crypto/cell-aead.js';
import type { CellRtpHeader } from '../../src/rtc/core/cell-rtp.js';
import { BodyWriter } from '../../src/wire/cell-body.js';
import type { Profile } from '../../src/media/codec/profiles.js';

function rig(roomCap = 8) {
  const profiles = parseProfiles(['audio:20:160:480', 'audio-room:20:160:1120']) as Profile[];
  const core = new MediaCore({ profiles, roomCap, maxSessions: 100, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 1e9, random16: () => 7 });
  let now = 0;
  const sinks = new Map<number, ExternalSink>();
  const bridge = new CellBridge({
    join: (r, p, rx, tx) => core.join(r, p, rx, tx, now),
    receiveExternal: (c, s) => {
      const i = core.receive(c, now);
      if (i >= 0) sinks.set(i, s);
      return i;
    },
    forgetSink: (s) => {
      for (const [i, x] of sinks) if (x === s) sinks.delete(i);
    },
    now: () => now,
  });
  const edge = { members: new Map<number, string>(), delivered: [] as Array<{ to: number; from: number; h: CellRtpHeader; payload: Buffer }>, next: 100 };
  bridge.attach({
    addCellMember: (room) => {
      const id = edge.next++;
      edge.members.set(id, room);
      return id;
    },
    removeCellMember: (id) => void edge.members.delete(id),
    deliver: (to, from, h, payload) => {
      edge.delivered.push({ to, from, h: { ...h }, payload });
      return true;
    },
  });
  const batch = new SendBatch();
  const w = new BodyWriter();
  return {
    core,
    bridge,
    edge,
    /** A cell client: joins, sends one record per call to `say`. */
    client(room: Uint8Array) {
      const rx = randomBytes(32);
      const j = core.join(room, 'audio', rx, randomBytes(32), now);
      if (typeof j === 'string') throw new Error(j);
      const key = cellKey(rx);
      let ctr = 0;
      const body = new Uint8Array(160);
      return {
        slot: j.slot,
        index: j.index,
        say(rec: Uint8Array) {
          w.reset(body);
          w.add(0, rec);
          w.finish();
          expect(core.receive(sealCell(key, j.session, ctr++, body), now)).toBe(j.index);
        },
      };
    },
    /** Runs the pacer at `t`; the cells for the bridge's sessions, to hand over (now or later, as the native thread may). */
    poll(t: number): Array<() => void> {
      now = t;
      batch.reset();
      core.poll(now, batch);
      const out: Array<() => void> = [];
      for (let i = 0; i < batch.count; i++) {
        const sink = sinks.get(batch.indexes[i]!);
        const cell = batch.cells[i]!;
        if (sink !== undefined) out.push(() => sink.send(cell));
      }
      return out;
    },
    /** Runs the pacer at `t` and hands the bridge's sessions their cells at once. */
    tick(t: number) {
      for (const hand of this.poll(t)) hand();
    },
  };
}

describe('CellBridge (TypeScript core, injected time)', () => {
  it('cell slots become edge members, the bridge slots never; records reach each browser once, untouched, one stream per receiver', () => {
    const r = rig();
    const room = randomBytes(32);
    const id = room.toString('base64url');
    expect(r.bridge.memberJoined(id, 'audio', 1)).toBeUndefined();
    expect(r.bridge.memberJoined(id, 'audio', 2)).toBeUndefined();
    const a = r.client(room);
    r.tick(20);
    expect([...r.edge.members.values()]).toEqual([id]); // one cell member, not the two bridge sessions
    const [cellId] = [...r.edge.members.keys()];
    const rec = randomBytes(114);
    a.say(rec);
    r.bridge.uplink(1, Buffer.alloc(114, 1)); // browser 1's frame: reaches the cell client, and bridge session 2 skips it
    r.tick(40);
    expect(r.edge.delivered.map((d) => [d.to, d.from]).sort()).toEqual([
      [1, cellId],
      [2, cellId],
    ]);
    for (const d of r.edge.delivered) expect(Buffer.compare(d.payload, rec)).toBe(0);
    const [d1, d2] = r.edge.delivered;
    expect(d1!.h.ssrc).not.toBe(d2!.h.ssrc); // one stream per receiver
    for (let t = 60; t <= 100; t += 20) {
      a.say(rec);
      r.tick(t);
    }
    for (const to of [1, 2]) {
      const seqs = r.edge.delivered.filter((d) => d.to === to).map((d) => d.h);
      expect(seqs.length).toBe(4);
      for (let i = 1; i < seqs.length; i++) {
        expect((seqs[i]!.sequence - seqs[i - 1]!.sequence) & 0xffff).toBe(1);
        expect((seqs[i]!.timestamp - seqs[i - 1]!.timestamp + 2 ** 32) % 2 ** 32).toBe(960);
      }
    }
    expect(r.core.sessionStats(a.index)!.recordsOut).toBeGreaterThanOrEqual(1); // the cell client got browser 1's frame
    expect(r.bridge.stats).toMatchObject({ toCells: 1, oversize: 0, badCell: 0, unknownSlot: 0, noSlot: 0 });
  });

  it('a browser that leaves is not taken for a cell member while rosters still list it; a cell member that leaves is removed', () => {
    const r = rig();
    const room = randomBytes(32);
    const id = room.toString('base64url');
    r.bridge.memberJoined(id, 'audio', 1);
    r.bridge.memberJoined(id, 'audio', 2);
    const a = r.client(room);
    r.tick(20);
    expect(r.edge.members.size).toBe(1);
    // A second cell client joins: the tick-40 cells carry a roster still listing browser 2's slot,
    // and are handed over only after browser 2 has left (the native thread hands cells over later).
    r.client(room);
    const late = r.poll(40);
    r.bridge.memberLeft(2);
    for (const hand of late) hand();
    expect(r.edge.members.size).toBe(2); // the two cell clients; browser 2's old slot is not a cell member
    r.tick(60); // the roster without it
    r.tick(80);
    expect(r.edge.members.size).toBe(2);
    expect(r.bridge.memberCount).toBe(1);
    // the cell client leaves (in band): its edge member goes
    expect(r.core.leave(a.index, new SendBatch())).toBe(true);
    r.tick(100);
    expect(r.edge.members.size).toBe(1);
  });

  it('a room of browsers alone: their frames stay out of the cell room (unheard); once a cell member is in the roster they go in', () => {
    const r = rig();
    const room = randomBytes(32);
    const id = room.toString('base64url');
    r.bridge.memberJoined(id, 'audio', 1);
    r.bridge.memberJoined(id, 'audio', 2);
    r.tick(20);
    const before = r.core.stats.recordsIn;
    for (let t = 40; t <= 100; t += 20) {
      r.bridge.uplink(1, Buffer.alloc(114, 1));
      r.tick(t);
    }
    expect(r.bridge.stats).toMatchObject({ toCells: 0, unheard: 4 });
    expect(r.core.stats.recordsIn).toBe(before); // nothing reached the data plane
    const a = r.client(room);
    a.say(randomBytes(114)); // its first cell confirms its session
    r.tick(120); // the roster with the cell member reaches the bridge
    const got = r.core.sessionStats(a.index)!.recordsOut;
    r.bridge.uplink(1, Buffer.alloc(114, 1));
    r.tick(140);
    expect(r.bridge.stats).toMatchObject({ toCells: 1, unheard: 4 });
    expect(r.core.sessionStats(a.index)!.recordsOut).toBe(got + 1); // the cell member got it
  });

  it('passes the cell room refusals on; video rooms are not bridged; oversize frames are counted', () => {
    const r = rig(2);
    const room = randomBytes(32);
    const id = room.toString('base64url');
    expect(r.bridge.memberJoined(id, 'video', 1)).toBeUndefined();
    expect(r.bridge.memberCount).toBe(0);
    expect(r.bridge.memberJoined(id, 'audio-room', 2)).toBeUndefined();
    expect(r.bridge.memberJoined(id, 'audio', 3)).toBe('profile_mismatch');
    expect(r.bridge.memberJoined(id, 'audio-room', 4)).toBeUndefined();
    expect(r.bridge.memberJoined(id, 'audio-room', 5)).toBe('room_full');
    r.bridge.uplink(2, Buffer.alloc(156)); // an up cell's record room is 155 bytes
    r.bridge.uplink(2, Buffer.alloc(155)); // fits, but no cell member is in the room to hear it
    expect(r.bridge.stats).toMatchObject({ oversize: 1, toCells: 0, unheard: 1, refused: 0 });
    r.bridge.close();
  });
});
