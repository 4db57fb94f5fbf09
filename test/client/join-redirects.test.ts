/**
 * The SDK's join through a relay list (cluster mode), against real HTTP servers on loopback that
 * answer like cluster nodes: 409 room_elsewhere is followed to the named node, at most maxRedirects
 * times in a row (a loop ends with room_elsewhere after maxRedirects + 1 requests); a URL without an
 * answer, or one that cannot place the room now (503), hands over to the next; other refusals end
 * the join; a redirect to anything but http(s) is not followed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJoin } from '../../src/client/call/join-request.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const ANSWER = { session: 7, slot: 0, epoch: 1, serverPublicKey: Buffer.alloc(32, 9).toString('base64url'), udp: { host: '127.0.0.1', port: 1 }, ws: '/v1/media/cells', profile: { name: 'audio', tickMs: 20, upBytes: 160, downBytes: 480 } };

/** A node answering every join with `answer(hits)`; counts its requests. */
async function node(answer: (hits: number) => { status: number; body: unknown }): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answer(++hits);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits: () => hits };
}

const elsewhere = (relay: string) => ({ status: 409, body: { error: { code: 'room_elsewhere', message: 'x' }, relay } });
const join = (relays: string | string[], maxRedirects?: number) => requestJoin(relays, new Uint8Array(32), new Uint8Array(32).fill(1), 'audio', maxRedirects);

describe('join through a cluster', () => {
  it('follows room_elsewhere to the named node and reports that node as the relay', async () => {
    const owner = await node(() => ({ status: 200, body: ANSWER }));
    const other = await node(() => elsewhere(owner.url));
    const j = await join(other.url);
    expect(j.relay).toBe(owner.url);
    expect(j.answer.session).toBe(7);
    expect([other.hits(), owner.hits()]).toEqual([1, 1]);
  });

  it('stops a redirect loop after maxRedirects: the last room_elsewhere is the error', async () => {
    let bUrl = '';
    const a = await node(() => elsewhere(bUrl));
    const b = await node(() => elsewhere(a.url));
    bUrl = b.url;
    await expect(join(a.url, 3)).rejects.toMatchObject({ code: 'room_elsewhere', status: 409 });
    expect(a.hits() + b.hits()).toBe(4);
    await expect(join(a.url, 0)).rejects.toMatchObject({ code: 'room_elsewhere' });
    expect(a.hits() + b.hits()).toBe(5);
  });

  it('hands over to the next URL on no answer and on 503, not on room_full; never follows a non-http redirect', async () => {
    const dead = await node(() => ({ status: 200, body: ANSWER }));
    const deadUrl = dead.url;
    await new Promise((r) => servers.pop()!.close(r));
    const draining = await node(() => ({ status: 503, body: { error: { code: 'node_draining', message: 'x' } } }));
    const ok = await node(() => ({ status: 200, body: ANSWER }));
    expect((await join([deadUrl, draining.url, ok.url])).relay).toBe(ok.url);
    const full = await node(() => ({ status: 409, body: { error: { code: 'room_full', message: 'x' } } }));
    await expect(join([full.url, ok.url])).rejects.toMatchObject({ code: 'room_full' });
    const sly = await node(() => elsewhere('javascript:alert(1)'));
    await expect(join([sly.url, ok.url])).rejects.toMatchObject({ code: 'room_elsewhere' });
    await expect(join([deadUrl])).rejects.toMatchObject({ code: 'network' });
  });
});
