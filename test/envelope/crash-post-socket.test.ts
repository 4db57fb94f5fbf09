/**
 * The delivery invariant over the `/v1/post` WebSocket (issue 9, must-show 7): the real CLI relay
 * takes a burst of posts on several post sockets, is killed with SIGKILL mid-burst, restarts on the
 * same data dir, and delivers every envelope whose `posted` answer reached the client. Posts whose
 * socket died before an answer are "unknown" to the client, as an HTTP post without its 202 is.
 * (test/envelope/crash.test.ts is the HTTP version.)
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PostSocket, generateMailboxKeys, type MailboxKeys } from '../../src/client/index.js';
import { spawnRelay } from '../helpers/child-relay.js';
import { drain } from '../helpers/drain.js';
import { tempDir } from '../helpers/relay.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Burst {
  acked: Set<string>;
  unknown: number;
  refused: number;
}

/**
 * Posts `total` envelopes over `sockets` post sockets, each keeping `window` posts outstanding
 * (within the relay's postMaxInflightPerSocket); calls `onAck` after each `posted` answer.
 */
async function socketBurst(url: string, boxes: MailboxKeys[], total: number, sockets: number, window: number, onAck: (n: number) => void): Promise<Burst> {
  const result: Burst = { acked: new Set(), unknown: 0, refused: 0 };
  const conns = await Promise.all(Array.from({ length: sockets }, () => PostSocket.open(url)));
  let next = 0;
  const lane = async (post: PostSocket): Promise<void> => {
    while (next < total) {
      const i = next++;
      const body = new Uint8Array(1024);
      new DataView(body.buffer).setUint32(0, i);
      try {
        result.acked.add(await post.post(boxes[i % boxes.length]!.mailboxId, body));
        onAck(result.acked.size);
      } catch (err) {
        if (['network', 'closed'].includes((err as { code?: string }).code ?? '')) result.unknown++; // the socket died: no answer, not acknowledged
        else result.refused++;
      }
    }
  };
  await Promise.all(conns.flatMap((c) => Array.from({ length: window }, () => lane(c))));
  for (const c of conns) c.close();
  return result;
}

describe('delivery invariant over the /v1/post socket', () => {
  it('SIGKILL mid-burst loses no envelope that was answered `posted`', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const flags = ['--data-dir', dataDir, '--envelope-post-rate-per-sec', '100000', '--envelope-post-burst', '100000'];
    const boxes = await Promise.all([1, 2, 3, 4].map(() => generateMailboxKeys()));
    const relay = await spawnRelay(flags);
    let killed = false;
    const result = await socketBurst(relay.url, boxes, 4000, 8, 16, (n) => {
      if (n === 1500 && !killed) {
        killed = true;
        relay.proc.kill('SIGKILL');
      }
    });
    const exit = await relay.exited;
    expect(exit.signal).toBe('SIGKILL');
    console.log(`post-socket burst: ${result.acked.size} answered posted, ${result.unknown} unanswered, ${result.refused} refused`);
    expect(result.acked.size).toBeGreaterThanOrEqual(1500);
    expect(result.unknown).toBeGreaterThan(0); // the kill really landed mid-burst
    expect(result.refused).toBe(0);

    const restarted = await spawnRelay(flags);
    try {
      const delivered = await drain(restarted.url, boxes, result.acked);
      const lost = [...result.acked].filter((id) => !delivered.has(id));
      console.log(`after restart: ${delivered.size} delivered, ${lost.length} acknowledged-but-lost`);
      expect(lost).toEqual([]);
      expect(delivered.size - result.acked.size).toBeLessThanOrEqual(result.unknown);
    } finally {
      restarted.proc.kill('SIGTERM');
      await restarted.exited;
    }
  }, 90_000);
});
