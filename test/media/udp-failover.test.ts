/**
 * Mid-call failover from UDP to the WebSocket ('auto' transport). The relay sends every session
 * one cell per tick, so downlink silence is the trigger: exact timing on the sans-IO DownlinkWatch
 * with injected time, then a UDP path cut mid-call on real sockets, where the same session carries
 * on over the WebSocket and the relay's anti-replay still refuses the session's old UDP cells.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CallClient, type TransportChange } from '../../src/client/call/call-client.js';
import { defaultSilenceMs, DownlinkWatch } from '../../src/client/call/downlink-watch.js';
import { rtpPacket, seqOf } from './call-helpers.js';
import { sleep, startTestRelay, type TestRelay } from './harness.js';

/** Checks once per 20 ms tick from `from` to `to`; returns the first time silent() said true. */
function firstSilent(w: DownlinkWatch, from: number, to: number, heardAt: number[] = []): number | undefined {
  for (let t = from; t <= to; t += 20) {
    if (heardAt.includes(t)) w.heard(t);
    if (w.silent(t)) return t;
  }
  return undefined;
}

describe('DownlinkWatch (sans-IO, injected time)', () => {
  it('default window: 10 ticks, at least 300 ms', () => {
    expect([5, 20, 30, 50].map(defaultSilenceMs)).toEqual([300, 300, 300, 500]);
  });

  it('reports silence exactly one window after the last valid cell, not before', () => {
    const w = new DownlinkWatch(300);
    w.heard(1000);
    expect(firstSilent(w, 1000, 2000)).toBe(1300);
    const v = new DownlinkWatch(300);
    v.heard(1000);
    expect(firstSilent(v, 1000, 1299)).toBeUndefined();
    expect(v.silentFor(1299)).toBe(299);
  });

  it('every cell restarts the window; restart() after a failed switch waits a whole window again', () => {
    const w = new DownlinkWatch(300);
    w.heard(1000);
    expect(firstSilent(w, 1000, 2000, [1100, 1280])).toBe(1580);
    w.restart(1600);
    expect(firstSilent(w, 1600, 2000)).toBe(1900);
  });

  it('never before a first cell, never with a window of 0', () => {
    expect(firstSilent(new DownlinkWatch(300), 0, 5000)).toBeUndefined();
    const off = new DownlinkWatch(0);
    off.heard(0);
    expect(firstSilent(off, 0, 5000)).toBeUndefined();
  });

  it('a check long after the previous one (the process stalled, cells may wait unread) defers the verdict to the next on-time check', () => {
    const w = new DownlinkWatch(300);
    w.heard(1000);
    expect(w.silent(1020)).toBe(false);
    expect(w.silent(1500)).toBe(false); // 480 ms since the last check: no verdict
    expect(w.silent(1520)).toBe(true); // on time, the socket was read in between, still nothing
    const u = new DownlinkWatch(300);
    u.heard(1000);
    u.silent(1020);
    u.silent(1500);
    u.heard(1505); // the cells that queued during the stall are read
    expect(u.silent(1520)).toBe(false);
  });
});

/** A UDP hop between one client and the relay that, once cut, drops everything both ways. */
class CutProxy {
  cut = false;
  dropped = 0;
  readonly upCells: Buffer[] = [];
  private client: RemoteInfo | undefined;
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');

  constructor(private readonly relayPort: number) {}

  async start(): Promise<{ host: string; port: number }> {
    this.front.on('message', (msg, rinfo) => {
      if (this.cut) return void this.dropped++;
      this.client = rinfo;
      this.upCells.push(msg);
      this.back.send(msg, this.relayPort, '127.0.0.1');
    });
    this.back.on('message', (msg) => {
      if (this.cut) return void this.dropped++;
      if (this.client) this.front.send(msg, this.client.port, this.client.address);
    });
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    return { host: '127.0.0.1', port: this.front.address().port };
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

describe('mid-call failover on real sockets', () => {
  it('UDP cut mid-call: the auto client moves to the WebSocket on its own, same session; media flows again, old UDP cells stay replays', async () => {
    const secret = randomBytes(32);
    const proxy = new CutProxy(relay.plane.udpPort);
    const a = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'auto', udpTarget: await proxy.start() });
    const b = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'udp' });
    const c = await CallClient.join({ relay: relay.url, callSecret: secret, transport: 'auto' }); // healthy: must stay on UDP
    const got = { ab: [] as number[], ba: [] as number[], ca: [] as number[] };
    b.on('frame', (f) => f.slot === a.slot && got.ab.push(seqOf(f.data)));
    a.on('frame', (f) => f.slot === b.slot && got.ba.push(seqOf(f.data)));
    c.on('frame', (f) => f.slot === a.slot && got.ca.push(seqOf(f.data)));
    const changes: Array<TransportChange & { at: number }> = [];
    a.on('transport', (ch) => changes.push({ ...ch, at: performance.now() }));
    c.on('transport', (ch) => changes.push({ ...ch, at: performance.now() }));
    await sleep(200);
    expect(a.transportKind).toBe('udp');
    const session = a.session;
    const roams0 = relay.metric('xrelay_media_path_changes_total');
    const replays0 = relay.metric('xrelay_media_cells_dropped_total{reason="replay"}');

    const N = 150;
    let cutAt = 0;
    let replayed = 0;
    for (let seq = 0; seq < N; seq++) {
      if (seq === 40) {
        proxy.cut = true;
        cutAt = performance.now();
      }
      if (seq === 110) replayed = await replayOldUdpCells(proxy.upCells.slice(-10));
      a.send(rtpPacket(a.slot, seq));
      b.send(rtpPacket(b.slot, seq));
      await sleep(20);
    }
    await sleep(300);

    const lostAB = N - got.ab.length;
    const lostBA = N - got.ba.length;
    const ch = changes[0];
    console.log(
      `[failover] UDP cut at frame 40; switch ${ch ? (ch.at - cutAt).toFixed(0) : '-'} ms after the cut (downlink silent ${ch?.silentMs} ms); ` +
        `frames lost a->b ${lostAB}/${N}, b->a ${lostBA}/${N}; proxy dropped ${proxy.dropped} datagrams; replayed ${replayed} old UDP cells`,
    );
    expect(changes).toEqual([expect.objectContaining({ from: 'udp', to: 'ws', reason: 'udp_silent' })]);
    expect(ch!.silentMs).toBeGreaterThanOrEqual(300);
    expect(ch!.at - cutAt).toBeLessThan(2000);
    expect(a.transportKind).toBe('ws');
    expect(a.session).toBe(session);
    expect(a.stats.transportFailovers).toBe(1);
    expect(c.transportKind).toBe('udp');
    // the relay saw the session's path move once (UDP -> WebSocket); replays moved nothing
    expect(relay.metric('xrelay_media_path_changes_total') - roams0).toBe(1);
    expect(relay.metric('xrelay_media_cells_dropped_total{reason="replay"}') - replays0).toBe(replayed);
    for (const [name, seqs] of [['a->b', got.ab], ['b->a', got.ba], ['a->c', got.ca]] as const) {
      expect([...seqs].sort((x, y) => x - y), name).toEqual(seqs);
      // Before the cut (UDP) and well after the switch (WebSocket) frames flow; a few may go stale
      // on a machine loaded enough to stall the relay past the queue's 200 ms age bound.
      const before = seqs.filter((q) => q < 35).length;
      const after = seqs.filter((q) => q >= N - 60).length;
      expect(before, `${name}: frames 0-34 received`).toBeGreaterThanOrEqual(32);
      expect(after, `${name}: frames ${N - 60}-${N - 1} received`).toBeGreaterThanOrEqual(57);
      expect(N - seqs.length, name).toBeLessThanOrEqual(50);
    }
    await Promise.all([a.close(), b.close(), c.close()]);
    proxy.close();
  });
});

/** Sends the session's already-accepted UDP cells again, over a fresh WebSocket and a fresh UDP socket. */
async function replayOldUdpCells(cells: Buffer[]): Promise<number> {
  const ws = new WebSocket(relay.url.replace(/^http/, 'ws') + '/v1/media/cells');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const udp = createSocket('udp4');
  for (const cell of cells) {
    ws.send(cell, { binary: true });
    udp.send(cell, relay.plane.udpPort, '127.0.0.1');
  }
  await sleep(50);
  ws.close();
  udp.close();
  return 2 * cells.length;
}
