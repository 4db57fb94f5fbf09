// Mutated offers through the real route (lines dropped, cut, duplicated, numbers changed): every
// answer is 201 or 400 bad_sdp, never 500; the accepted ones (made-up ICE credentials, nothing
// connects) are freed by the connect timeout. A fixed seed keeps the run reproducible.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/load/rng.js';
import { startTestRelay } from '../helpers/relay.js';
import { offerFixture } from './offer-fixture.js';
import { roomId, waitFor } from '../../loadtest/rtc/edge-client.js';


describe('WebRTC edge: mutated offers', () => {
  it('answers 201 or bad_sdp, never 500; accepted sessions that never connect are freed', async () => {
    const relay = await startTestRelay({ rtc: { enabled: true, joinBurst: 100_000, maxSessionsPerAddress: 10_000, connectTimeoutMs: 500 } });
    const seed = 20261130;
    const rand = seededRng(seed);
    const results = new Map<string, number>();
    try {
      for (const video of [false, true]) {
        const lines = offerFixture({ slots: 2, video }).split('\r\n');
        for (let i = 0; i < 100; i++) {
          const l = [...lines];
          for (let j = 0; j <= i % 3; j++) {
            const at = Math.floor(rand() * l.length);
            const r = rand();
            if (r < 0.3) l.splice(at, 1);
            else if (r < 0.6) l[at] = l[at]!.slice(0, Math.floor(rand() * l[at]!.length));
            else if (r < 0.8) l.splice(at, 0, l[Math.floor(rand() * l.length)]!);
            else l[at] = l[at]!.replace(/\d+/, String(Math.floor(rand() * 1e6)));
          }
          const res = await fetch(`${relay.url}/v1/rtc/rooms/${roomId()}?profile=${video ? 'video' : 'audio'}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: l.join('\r\n') });
          const text = await res.text();
          const key = res.status === 201 ? '201' : `${res.status} ${(JSON.parse(text) as { error: { code: string } }).error.code}`;
          results.set(key, (results.get(key) ?? 0) + 1);
        }
      }
      console.log(`seed ${seed}: ${[...results].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
      expect([...results.keys()].sort()).toEqual(['201', '400 bad_sdp']);
      await waitFor(() => relay.rtc!.sessionCount === 0, 10_000, 'accepted sessions freed');
      expect(relay.metric('xrelay_rtc_sessions_closed_total{reason="connect_timeout"}')).toBe(results.get('201'));
    } finally {
      await relay.dispose();
    }
  }, 60_000);
});
