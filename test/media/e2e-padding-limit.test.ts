/**
 * End-to-end padding stops where the downlink stops: a room padded at full rate sends every
 * receiver `members - 1` records per tick, and its down cell carries K. Padding needs one spare
 * record per cell (at K + 1 members a tick the relay misses leaves a backlog that never drains), so
 * it covers rooms of K members: there padding runs and no media is lost; one more and every member
 * suspends dummies, says so, and media still arrives whole (no relay queue drops); back at K
 * padding resumes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallClient } from '../../src/client/call/call-client.js';
import { capacityOf, recordBytes } from '../../src/client/call/sframe.js';
import { E2ePaddingGate, paddedRoomLimit, recordsPerDownCell, type E2ePaddingStatus } from '../../src/client/call/e2e-padding-gate.js';
import { maxRecordPayload } from '../../src/media/codec/cell-layout.js';
import { DEFAULT_PROFILES, parseProfiles, type Profile } from '../../src/media/codec/profiles.js';
import { SendBatch } from '../../src/media/core/media-core.js';
import { seededRng } from '../../src/load/rng.js';
import { rtpPacket, seqOf } from './call-helpers.js';
import { FakeClient, makeCore, room as coreRoom } from './core-helpers.js';
import { sleep, startTestRelay, type TestRelay } from './harness.js';

const profiles = parseProfiles(DEFAULT_PROFILES) as Profile[];
const defaultRecord = (p: Profile): number => recordBytes(capacityOf(maxRecordPayload(p.upBytes)));

describe('how many members full-rate e2e padding covers (sans-IO)', () => {
  it('K records per down cell and K members per default profile, as in PROTOCOL §6 and §9.1', () => {
    const table = profiles.map((p) => [p.name, defaultRecord(p), recordsPerDownCell(p.downBytes, defaultRecord(p)), paddedRoomLimit(p.downBytes, defaultRecord(p))]);
    expect(table).toEqual([
      ['audio', 155, 3, 3],
      ['audio-room', 155, 7, 7],
      ['video', 1195, 1, 1],
    ]);
    // smaller packets, more records per cell: audio-room with 60-byte packets
    expect(recordsPerDownCell(1120, recordBytes(60))).toBe(11);
  });

  it('every member decides from the roster size alone; announces the first decision and each flip only', () => {
    const gate = new E2ePaddingGate(true, 8);
    expect(gate.status).toMatchObject({ active: false, reason: 'awaiting_roster', members: 0, capacity: 8 });
    const seen = [2, 5, 8, 9, 12, 9, 8, 3].map((n) => gate.onRoster(n));
    expect(seen.map((s) => (s === undefined ? '-' : `${s.active ? 'on' : 'off'}@${s.members}`))).toEqual(['on@2', '-', '-', 'off@9', '-', '-', 'on@8', '-']);
    expect(gate.status).toEqual({ requested: true, active: true, reason: 'room_fits_downlink', members: 3, capacity: 8 });
    const late = new E2ePaddingGate(true, 8);
    expect(late.onRoster(20)).toEqual({ requested: true, active: false, reason: 'room_exceeds_downlink', members: 20, capacity: 8 });
    const off = new E2ePaddingGate(false, 8);
    expect(off.onRoster(3)).toBeUndefined();
    expect(off.status).toMatchObject({ active: false, reason: 'not_requested', members: 3 });
  });
});

describe('why one spare record per cell (sans-IO core, injected time)', () => {
  /** Every member sends one full record per tick for 10 000 ticks; the relay misses 1% of its ticks. */
  function padded(members: number): { K: number; drops: number; missedTicks: number } {
    const core = makeCore();
    const clients = Array.from({ length: members }, () => new FakeClient(core, coreRoom(9), 'audio-room', 0));
    const record = new Uint8Array(maxRecordPayload(clients[0]!.join.profile.upBytes));
    const K = recordsPerDownCell(clients[0]!.join.profile.downBytes, record.length);
    const batch = new SendBatch();
    const rng = seededRng(7);
    const missed = (): boolean => rng() < 0.01;
    for (let tick = 0; tick < 10_000; tick++) {
      for (const c of clients) core.receive(c.cell([record]), tick * 20 + 1);
      if (missed()) continue;
      batch.reset();
      core.poll(tick * 20 + 2, batch);
    }
    return { K, drops: core.stats.queueDrops + core.stats.staleDrops, missedTicks: core.stats.missedTicks };
  }

  it('K members drain missed relay ticks (a spare record per cell); K + 1 members keep every backlog', () => {
    const atLimit = padded(7);
    const past = padded(8);
    console.log(`[padded audio-room, 1% missed relay ticks] 7 members: ${atLimit.drops} of 70000 records dropped; 8 members: ${past.drops} of 80000 (${past.missedTicks} missed ticks)`);
    expect(atLimit.K).toBe(7);
    expect(atLimit.missedTicks).toBeGreaterThan(50);
    // At K only runs of consecutive missed ticks outlast the queue's age bound; at K + 1 every
    // missed tick's records stay queued until the bound drops them.
    expect(atLimit.drops).toBeLessThan(70_000 * 0.002);
    expect(past.drops).toBeGreaterThan(50 * Math.max(1, atLimit.drops));
  });
});

interface Member {
  call: CallClient;
  events: E2ePaddingStatus[];
  got: Map<number, number[]>;
}

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

async function join(secret: Uint8Array, transport: 'udp' | 'auto' = 'udp'): Promise<Member> {
  const call = await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio', transport, e2ePadding: true });
  const m: Member = { call, events: [], got: new Map() };
  call.on('e2ePadding', (s) => m.events.push(s));
  call.on('frame', (f) => m.got.set(f.slot, [...(m.got.get(f.slot) ?? []), seqOf(f.data)]));
  return m;
}

async function settle(room: Member[]): Promise<void> {
  for (let t = 0; t < 200 && room.some((m) => m.call.roster.length !== room.length || m.call.e2ePaddingStatus.members !== room.length); t++) await sleep(10);
  await sleep(100);
}

/** Speakers send `count` packets, one per tick; returns what each other member received from them, and the relay's queue drops meanwhile. */
async function talk(room: Member[], speakers: Member[], count: number): Promise<{ missing: string[]; relayQueueDrops: number }> {
  const drops0 = relay.plane.core.stats.queueDrops + relay.plane.core.stats.staleDrops;
  for (const m of room) m.got.clear();
  for (let seq = 0; seq < count; seq++) {
    for (const s of speakers) s.call.send(rtpPacket(s.call.slot, seq));
    await sleep(20);
  }
  await sleep(300);
  const want = JSON.stringify(Array.from({ length: count }, (_, i) => i));
  const missing: string[] = [];
  for (const r of room) {
    for (const s of speakers) {
      if (s === r) continue;
      const got = r.got.get(s.call.slot) ?? [];
      if (JSON.stringify(got) !== want) missing.push(`${r.call.slot}<-${s.call.slot}: ${got.length}/${count}`);
    }
  }
  return { missing, relayQueueDrops: relay.plane.core.stats.queueDrops + relay.plane.core.stats.staleDrops - drops0 };
}

const sum = (room: Member[], f: (m: Member) => number): number => room.reduce((a, m) => a + f(m), 0);

describe('e2e padding at and past the room limit (audio: K = 3, limit 3 members), real sockets', () => {
  it('3 members: padding on for everyone, dummies flow, every frame arrives, no relay queue drops', async () => {
    const secret = randomBytes(32);
    const room: Member[] = [];
    for (let i = 0; i < 3; i++) room.push(await join(secret));
    await settle(room);
    const dummies0 = sum(room, (m) => m.call.stats.dummiesReceived);
    const r = await talk(room, room.slice(0, 2), 50);
    const dummies = sum(room, (m) => m.call.stats.dummiesReceived) - dummies0;
    console.log(`[e2e padding, 3 members] dummies received ${dummies} in ~1.3 s; relay queue drops ${r.relayQueueDrops}; missing ${r.missing.length}`);
    for (const m of room) {
      expect(m.call.e2ePaddingStatus).toEqual({ requested: true, active: true, reason: 'room_fits_downlink', members: 3, capacity: 3 });
      expect(m.events.map((e) => e.active)).toEqual([true]); // announced once, at the first roster
      expect(m.call.stats.dummiesWithheld).toBe(0);
    }
    expect(r.missing).toEqual([]);
    expect(r.relayQueueDrops).toBe(0);
    // the silent member pads every tick to two receivers; the speakers pad after their media
    expect(dummies).toBeGreaterThan(1 * 2 * 40);
    await Promise.all(room.map((m) => m.call.close()));
  });

  it('a 4th member: all four suspend dummies and say why, media arrives whole; when it leaves, padding resumes', async () => {
    const secret = randomBytes(32);
    const room: Member[] = [];
    for (let i = 0; i < 3; i++) room.push(await join(secret));
    await settle(room);
    const extra = await join(secret, 'auto'); // its first roster arrives while join() still runs
    room.push(extra);
    await settle(room);
    const off = { requested: true, active: false, reason: 'room_exceeds_downlink', members: 4, capacity: 3 };
    for (const m of room) expect(m.events.at(-1)).toEqual(off);
    expect(extra.events).toEqual([off]);
    expect(extra.call.stats.dummiesSent).toBe(0);

    const sent0 = room.map((m) => m.call.stats.dummiesSent);
    const r = await talk(room, room.slice(0, 2), 50);
    const withheld = sum(room, (m) => m.call.stats.dummiesWithheld);
    console.log(`[e2e padding, 4 members] suspended: dummies withheld ${withheld}; relay queue drops ${r.relayQueueDrops}; missing ${r.missing.length}`);
    expect(r.missing).toEqual([]);
    expect(r.relayQueueDrops).toBe(0);
    expect(room.map((m) => m.call.stats.dummiesSent)).toEqual(sent0);
    expect(withheld).toBeGreaterThan(2 * 40);
    expect(room.map((m) => m.call.stats.e2ePaddingSuspensions)).toEqual([1, 1, 1, 0]);

    await extra.call.leave();
    room.pop();
    await settle(room);
    const on = { requested: true, active: true, reason: 'room_fits_downlink', members: 3, capacity: 3 };
    for (const m of room) expect(m.events.at(-1)).toEqual(on);
    const resumed0 = sum(room, (m) => m.call.stats.dummiesSent);
    await sleep(200);
    expect(sum(room, (m) => m.call.stats.dummiesSent) - resumed0).toBeGreaterThan(3 * 5);
    await Promise.all(room.map((m) => m.call.close()));
  });
});
