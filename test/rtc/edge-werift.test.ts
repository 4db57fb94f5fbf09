// werift clients join the WebRTC edge through its real HTTP route on 127.0.0.1: every member of a
// 3-member audio room receives every other member's RTP payloads unaltered in its receive slots,
// rosters arrive on the data channel, and leaving frees the slot (roster epoch moves on).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forbiddenExtensions } from '../../src/rtc/codec/header-extensions.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';

let relay: TestRelay;

beforeAll(async () => {
  relay = await startTestRelay({ rtc: { enabled: true } });
});
afterAll(async () => {
  await relay.dispose();
});

describe('WebRTC edge with werift clients', () => {
  it('3-member audio room: every member receives every other, payloads unaltered; rosters; leave frees the slot', async () => {
    const room = roomId();
    const clients = [new EdgeClient(3), new EdgeClient(3), new EdgeClient(3)];
    try {
      for (const c of clients) {
        const r = await c.join(relay.url, room);
        expect(r.status).toBe(201);
        expect(c.location).toMatch(/^\/v1\/rtc\/sessions\/[A-Za-z0-9_-]{22}$/);
        expect(forbiddenExtensions(c.answer)).toEqual([]);
      }
      await Promise.all(clients.map((c) => c.connected()));
      clients.forEach((c, i) => c.startSending(`member-${i}`));
      await waitFor(() => clients.every((c, i) => clients.every((_, j) => j === i || [...c.sources().values()].some((s) => s.has(`member-${j}`)))), 15_000, 'every member hears every other');
      for (const [i, c] of clients.entries()) {
        // one slot per other member, each carrying exactly one sender
        const heard = [...c.sources().values()].filter((s) => s.size > 0);
        expect(heard.length).toBe(2);
        for (const s of heard) expect(s.size).toBe(1);
        expect(heard.flatMap((s) => [...s]).sort()).toEqual(clients.map((_, j) => `member-${j}`).filter((_, j) => j !== i));
        // payloads arrive byte for byte as sent
        for (const list of c.received.values()) for (const p of list) expect(p.toString()).toMatch(/^member-\d:\d+$/);
      }
      await waitFor(() => clients.every((c) => c.rosters.some((r) => r.slots.length === 2)), 10_000, 'rosters with two slots');
      const last = clients[0]!.rosters.at(-1)!;
      expect(last.type).toBe('slots');
      expect(last.slots.every((s) => s.kind === 'audio' && /^[A-Za-z0-9_-]{11}$/.test(s.member))).toBe(true);

      // member 2 leaves: the others' rosters drop it at a higher epoch, and no new payload of it arrives
      const res = await fetch(relay.url + clients[2]!.location, { method: 'DELETE' });
      expect(res.status).toBe(204);
      await waitFor(() => clients.slice(0, 2).every((c) => c.rosters.at(-1)!.slots.length === 1 && c.rosters.at(-1)!.epoch > last.epoch), 10_000, 'rosters after leave');
      expect(relay.rtc!.sessionCount).toBe(2);
      expect((await fetch(relay.url + clients[2]!.location, { method: 'DELETE' })).status).toBe(404);
      expect(relay.metric('xrelay_rtc_forwarded_packets_total{kind="audio"}')).toBeGreaterThan(0);
      expect(relay.metric('xrelay_rtc_sessions_closed_total{reason="leave"}')).toBe(1);
      // privacy: no room id, session id, member tag or address in metrics or logs (hashed ids only)
      const secrets = [room, ...clients.map((c) => c.location.split('/').pop()!), ...last.slots.map((s) => s.member)];
      const rtcMetrics = relay.metrics.render().split('\n').filter((l) => l.startsWith('xrelay_rtc_'));
      expect(rtcMetrics.length).toBeGreaterThan(10);
      for (const line of rtcMetrics) expect(line).toMatch(/^xrelay_rtc_\w+(\{(kind|reason|result)="[a-z_]+"\})? \d+$/);
      expect(relay.logs()).toContain('rtc session joined');
      for (const secret of secrets) expect(relay.logs()).not.toContain(secret);
      expect(relay.logs()).not.toContain('127.0.0.1');

      // a newcomer takes the freed slot
      const d = new EdgeClient(3);
      clients.push(d);
      expect((await d.join(relay.url, room)).status).toBe(201);
      await d.connected();
      d.startSending('member-3');
      await waitFor(() => [...clients[0]!.sources().values()].some((s) => s.has('member-3')), 10_000, 'newcomer heard');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 60_000);
});
