// RTCP through the WebRTC edge with werift clients in a video room: a receiver that connects makes
// the sender of its video slot get a PLI; a receiver's PLI reaches the slot's sender, rate-limited
// per sender (rtc.keyframeMinIntervalMs); a receiver's NACK is answered with the packet again from
// the slot's send history, without the sender being asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';

let relay: TestRelay;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  relay = await startTestRelay({ rtc: { enabled: true, keyframeMinIntervalMs: 1000 } });
});
afterAll(async () => {
  await relay.dispose();
});

describe('WebRTC edge feedback', () => {
  it('PLI on connect and on request (rate-limited); NACK answered from the send history', async () => {
    const room = roomId();
    const a = new EdgeClient(1, true);
    const b = new EdgeClient(1, true);
    try {
      expect((await a.join(relay.url, room, 'video')).status).toBe(201);
      await a.connected();
      a.startSendingVideo('a-video');
      a.startSending('a-audio');
      expect((await b.join(relay.url, room, 'video')).status).toBe(201);
      await b.connected();
      // b's connect asked a for a key frame
      await waitFor(() => a.plisReceived >= 1, 10_000, 'PLI at a after b connected');
      expect(relay.metric('xrelay_rtc_keyframe_requests_total{result="new_slot"}')).toBeGreaterThanOrEqual(1);
      // b's video slot is mid 3 (0 audio up, 1 video up, 2 audio slot, 3 video slot, 4 data)
      await waitFor(() => (b.slotSeqs.get('3')?.seqs.length ?? 0) > 10, 10_000, 'b receives a video');
      await sleep(1100); // past the interval the connect started
      const before = a.plisReceived;
      await b.sendPli('3');
      await waitFor(() => a.plisReceived === before + 1, 5000, 'forwarded PLI');
      await b.sendPli('3'); // within 1000 ms of the last: not forwarded
      await sleep(300);
      expect(a.plisReceived).toBe(before + 1);
      expect(relay.metric('xrelay_rtc_keyframe_requests_total{result="forwarded"}')).toBe(1);
      expect(relay.metric('xrelay_rtc_keyframe_requests_total{result="suppressed"}')).toBe(1);

      // NACK a packet b already has: the relay sends it again (its slot's history), a sees no NACK
      const seen = b.slotSeqs.get('2')!;
      const target = seen.seqs[seen.seqs.length - 3]!;
      const countOf = (): number => seen.seqs.filter((s) => s === target).length;
      expect(countOf()).toBe(1);
      await b.sendNack('2', [target]);
      await waitFor(() => countOf() === 2, 5000, 'retransmission of the NACKed packet');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 40_000);
});
