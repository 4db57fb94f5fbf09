/**
 * Quota counters across restarts: a clean close leaves a usage snapshot that the next open loads
 * instead of scanning every envelope; the snapshot is removed at open, and one that does not match
 * the data (stale, corrupt) is ignored for a scan. The crash path (no snapshot) is in crash.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/errors.js';
import { LmdbEnvelopeStore } from '../../src/envelope/store/lmdb-store.js';
import { decodeUsageSnapshot, encodeUsageSnapshot } from '../../src/envelope/store/usage-snapshot.js';
import { tempDir } from '../helpers/relay.js';

const limits = { mailboxMaxCount: 5, mailboxMaxBytes: 1_000_000, storeMaxBytes: 10_000_000, pushMaxTargets: 10 };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function freshDir(): string {
  const d = tempDir('xrelay-usage-');
  dirs.push(d);
  return d;
}

/** 3 mailboxes holding 5, 2 and 1 envelopes of 256, then one of the second's acknowledged. */
async function fill(store: LmdbEnvelopeStore): Promise<{ boxes: Uint8Array[]; newest: Buffer }> {
  const boxes = [1, 2, 3].map((n) => new Uint8Array(32).fill(n));
  const ids: Buffer[] = [];
  for (const [box, n] of [[boxes[0]!, 5], [boxes[1]!, 2], [boxes[2]!, 1]] as const) {
    for (let i = 0; i < n; i++) ids.push(await store.put(box, randomBytes(256), Date.now()));
  }
  expect(await store.ack(boxes[1]!, [ids[5]!])).toBe(1);
  return { boxes, newest: ids.at(-1)! };
}

/** A store filled as fill() does and closed cleanly (so it holds a snapshot). */
async function filledAndClosed(): Promise<{ dir: string; boxes: Uint8Array[]; newest: Buffer }> {
  const dir = freshDir();
  const store = LmdbEnvelopeStore.open(dir, limits);
  const filled = await fill(store);
  await store.close();
  return { dir, ...filled };
}

async function mailboxFull(store: LmdbEnvelopeStore, box: Uint8Array): Promise<boolean> {
  try {
    await store.put(box, randomBytes(256), Date.now());
    return false;
  } catch (err) {
    if (err instanceof RelayError && err.code === 'mailbox_full') return true;
    throw err;
  }
}

describe('usage snapshot', () => {
  it('a clean close lets the next open load the counters instead of scanning; quotas hold as before', async () => {
    const dir = freshDir();
    const first = LmdbEnvelopeStore.open(dir, limits);
    expect(first.usageSource).toBe('scan');
    const { boxes, newest } = await fill(first);
    const before = first.stats();
    await first.close();

    const second = LmdbEnvelopeStore.open(dir, limits);
    expect(second.usageSource).toBe('snapshot');
    expect(second.stats()).toEqual(before);
    expect(before).toEqual({ envelopes: 7, bytes: 7 * 256 });
    // A new id sorts after every stored one, even from a clock behind the last write (the id
    // floor came from the expiry index, not from a scan).
    const id = await second.put(boxes[2]!, randomBytes(256), 0);
    expect(Buffer.compare(id, newest)).toBe(1);
    expect(await mailboxFull(second, boxes[0]!)).toBe(true); // 5 of 5
    expect(await mailboxFull(second, boxes[1]!)).toBe(false); // 1 of 5, now 2
    await second.close();
  });

  it('the snapshot is consumed at open: a store that is not closed cleanly is scanned next time', async () => {
    const { dir } = await filledAndClosed();
    const second = LmdbEnvelopeStore.open(dir, limits);
    expect(second.usageSource).toBe('snapshot');
    // Look at the raw database while `second` is open, as a crash here would leave it.
    const raw = open({ path: `${dir}/envelopes.lmdb` });
    expect(raw.openDB({ name: 'meta', encoding: 'binary' }).getBinary('usage')).toBeUndefined();
    await raw.close();
    await second.close();
  });

  it('a snapshot that does not match the data is ignored and the counters are rebuilt by a scan', async () => {
    const { dir } = await filledAndClosed();
    // An envelope written behind the snapshot's back (e.g. by an older relay build).
    const raw = open({ path: `${dir}/envelopes.lmdb`, compression: false });
    const envelopes = raw.openDB<Buffer, Buffer>({ name: 'envelopes', keyEncoding: 'binary', encoding: 'binary' });
    await envelopes.put(Buffer.concat([new Uint8Array(32).fill(4), Buffer.alloc(16, 1)]), randomBytes(1024));
    await raw.close();

    const second = LmdbEnvelopeStore.open(dir, limits);
    expect(second.usageSource).toBe('scan');
    expect(second.stats()).toEqual({ envelopes: 8, bytes: 7 * 256 + 1024 });
    await second.close();

    // Corrupt snapshot bytes are ignored too.
    const raw2 = open({ path: `${dir}/envelopes.lmdb`, compression: false });
    await raw2.openDB({ name: 'meta', encoding: 'binary' }).put('usage', Buffer.from('not a snapshot'));
    await raw2.close();
    const third = LmdbEnvelopeStore.open(dir, limits);
    expect(third.usageSource).toBe('scan');
    expect(third.stats()).toEqual({ envelopes: 8, bytes: 7 * 256 + 1024 });
    await third.close();
  });

  it('a writer that moved envelopes between mailboxes (same total) also voids the snapshot', async () => {
    const { dir, boxes } = await filledAndClosed(); // mailbox 1 holds 5 of 5
    const raw = open({ path: `${dir}/envelopes.lmdb`, compression: false });
    const envelopes = raw.openDB<Buffer, Buffer>({ name: 'envelopes', keyEncoding: 'binary', encoding: 'binary' });
    const victim = Array.from(envelopes.getKeys({ start: Buffer.from(boxes[0]!), limit: 1 }))[0]!;
    await envelopes.remove(victim);
    await envelopes.put(Buffer.concat([new Uint8Array(32).fill(4), Buffer.alloc(16, 1)]), randomBytes(256));
    await raw.close();

    const second = LmdbEnvelopeStore.open(dir, limits);
    expect(second.usageSource).toBe('scan');
    expect(second.stats()).toEqual({ envelopes: 7, bytes: 7 * 256 });
    expect(await mailboxFull(second, boxes[0]!)).toBe(false); // 4 of 5 now, as the data says
    await second.close();
  });

  it('the codec refuses truncated, mis-versioned and inconsistent snapshots', () => {
    const good = encodeUsageSnapshot([{ key: 'a'.repeat(32), count: 2, bytes: 512 }, { key: 'b'.repeat(32), count: 1, bytes: 256 }], 3, 41);
    expect(decodeUsageSnapshot(good)?.entries).toHaveLength(2);
    expect(decodeUsageSnapshot(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(decodeUsageSnapshot(Buffer.concat([Buffer.of(1), good.subarray(1)]))).toBeUndefined();
    expect(decodeUsageSnapshot(encodeUsageSnapshot([{ key: 'a'.repeat(32), count: 2, bytes: 512 }], 3, 41))).toBeUndefined();
    for (let i = 0; i < 2000; i++) {
      const mutated = Buffer.from(good);
      mutated[Math.floor(Math.random() * mutated.length)] ^= 1 + Math.floor(Math.random() * 255);
      const d = decodeUsageSnapshot(mutated); // never throws; if accepted it is self-consistent
      if (d !== undefined) expect(d.entries.reduce((s, e) => s + e.count, 0)).toBe(d.totalCount);
    }
  });
});
