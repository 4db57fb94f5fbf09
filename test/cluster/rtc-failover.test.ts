/**
 * The WebRTC edge when a room's node goes (cluster mode; two nodes as child processes of the real
 * CLI on one redis-server). Two werift members of one room, one through each node, both served by
 * the owner. The owner is stopped: its edge sessions die with it (no media after it), and members
 * joining again through the surviving node (what an app does on RtcCall's `closed`: the SDK does not
 * rejoin by itself) are placed there once the room is free:
 *  - kill -9: the room's lease and the dead node's registration lapse within leaseTtlMs of its last
 *    renewal, the survivor drops it from its view at its next renewal; a retry every 250 ms:
 *    bound leaseTtlMs + leaseRenewMs + 250 ms + one join;
 *  - SIGTERM: the node closes its edge sessions, then releases the rooms they emptied and its
 *    registration before it exits: the first join after it exited lands on the survivor (bound:
 *    two werift joins, ~1 s each on this machine).
 * Asserted with slack for this loaded machine; measured figures printed.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EdgeClient, roomId, waitFor } from '../../loadtest/rtc/edge-client.js';
import type { ChildRelay } from '../helpers/child-relay.js';
import { useChildCluster } from './child-nodes.js';

const LEASE_TTL_MS = 3000;
const LEASE_RENEW_MS = 1000;
const RETRY_MS = 250;
const SLACK_MS = 2500;

const cluster = useChildCluster({ ttlMs: LEASE_TTL_MS, renewMs: LEASE_RENEW_MS });
const node = (): Promise<ChildRelay> => cluster.node('--rtc-enabled');

async function roomKeys(): Promise<string[]> {
  const r = new Redis({ host: '127.0.0.1', port: cluster.redis.port });
  try {
    return await r.keys('xr:{room:*');
  } finally {
    r.disconnect();
  }
}

const hears = (c: EdgeClient, marker: string): boolean => [...c.sources().values()].some((s) => s.has(marker));

/** Joins `room` through `relay` until it is admitted (a dead node named by room_elsewhere: no answer, retried). */
async function joinRetrying(relay: string, room: string, deadlineMs: number): Promise<{ client: EdgeClient; attempts: number }> {
  for (let attempts = 1; ; attempts++) {
    const c = new EdgeClient(2);
    try {
      const r = await c.join(relay, room);
      if (r.status === 201) return { client: c, attempts };
    } catch {
      // the owner named by room_elsewhere did not answer (killed): retried
    }
    await c.close();
    if (performance.now() > deadlineMs) throw new Error(`no join within the bound after ${attempts} attempts`);
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}

async function failover(signal: 'SIGKILL' | 'SIGTERM', boundMs: number): Promise<number[]> {
  const a = await node();
  const b = await node();
  await new Promise((r) => setTimeout(r, LEASE_RENEW_MS * 1.5)); // each node has seen the other
  const room = roomId();
  const members = [new EdgeClient(2), new EdgeClient(2)];
  const rejoined: EdgeClient[] = [];
  try {
    expect((await members[0]!.join(a.url, room)).status).toBe(201);
    expect((await members[1]!.join(b.url, room)).status).toBe(201);
    const ownerUrl = members[0]!.relay;
    expect(members[1]!.relay).toBe(ownerUrl);
    const [owner, survivor] = ownerUrl === a.url ? [a, b] : [b, a];
    await Promise.all(members.map((c) => c.connected()));
    members.forEach((c, i) => c.startSending(`before-${i}`));
    await waitFor(() => hears(members[0]!, 'before-1') && hears(members[1]!, 'before-0'), 15_000, 'both members hear each other');

    const stoppedAt = performance.now(); // kill -9: exited at once; SIGTERM: after its graceful close
    owner.proc.kill(signal);
    await owner.exited;
    const exitedAt = performance.now();
    const exitedMs = exitedAt - stoppedAt;
    // SIGTERM: the room's mapping is gone from Redis as the node exits (its edge sessions closed
    // first, then the rooms they emptied were released); kill -9: it stays until its lease lapses.
    expect(await roomKeys()).toHaveLength(signal === 'SIGTERM' ? 0 : 1);
    // the edge sessions died with the node: nothing more arrives
    await new Promise((r) => setTimeout(r, 300));
    const counts = members.map((c) => c.receivedPackets);
    await new Promise((r) => setTimeout(r, 500));
    expect(members.map((c) => c.receivedPackets)).toEqual(counts);

    // both join again through the survivor (as an app does on RtcCall's `closed`)
    const attempts: number[] = [];
    for (const _ of members) {
      const j = await joinRetrying(survivor.url, room, exitedAt + boundMs + SLACK_MS);
      rejoined.push(j.client);
      attempts.push(j.attempts);
    }
    const backMs = performance.now() - exitedAt;
    expect(rejoined.every((c) => c.relay === survivor.url)).toBe(true);
    await Promise.all(rejoined.map((c) => c.connected()));
    rejoined.forEach((c, i) => c.startSending(`after-${i}`));
    await waitFor(() => hears(rejoined[0]!, 'after-1') && hears(rejoined[1]!, 'after-0'), 15_000, 'the rejoined members hear each other');
    const werift = members.map((c) => c.pc.connectionState).join(',');
    console.log(`${signal} of the room's node (exited after ${exitedMs.toFixed(0)} ms): both edge members admitted again on the survivor ${backMs.toFixed(0)} ms after it exited, in ${attempts.join(' and ')} attempts (bound ${boundMs} ms + ${SLACK_MS} ms slack); the old werift peers' state then: ${werift}`);
    expect(backMs).toBeLessThan(boundMs + SLACK_MS);
    for (const c of rejoined) expect(await c.leave()).toBe(204);
    return attempts;
  } finally {
    await Promise.all([...members, ...rejoined].map((c) => c.close()));
    for (const n of [a, b]) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }
}

describe('the WebRTC edge when the room\'s node goes', () => {
  it('kill -9: the edge sessions die with it; joins through the survivor land there once the lease lapsed', async () => {
    await failover('SIGKILL', LEASE_TTL_MS + LEASE_RENEW_MS + RETRY_MS + 500);
  }, 60_000);

  it('SIGTERM: the node releases the rooms its edge sessions held as it stops; the next join lands on the survivor at once', async () => {
    // one join each: the room was free (and the stopped node out of the placement) as soon as it exited
    expect(await failover('SIGTERM', 2 * 1000)).toEqual([1, 1]);
  }, 60_000);
});
