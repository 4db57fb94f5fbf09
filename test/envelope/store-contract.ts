/**
 * The envelope store contract, run against every backend (LMDB, Redis single, Redis Cluster):
 * whatever the store, the plane above it sees the same ordering, paging, quotas, deletes, expiry,
 * push targets, stats and restart behaviour. A backend shared by several store instances (Redis)
 * also runs the cross-instance cases: quotas must hold across nodes.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayError } from '../../src/errors.js';
import type { EnvelopeStore, StoreLimits } from '../../src/envelope/store/envelope-store.js';

export interface StoreBackend {
  /** Empties the backing data: each case starts from nothing. */
  fresh(): Promise<void>;
  /** Opens a store on the current backing data (several may be open at once when `shared`). */
  open(limits: StoreLimits): Promise<EnvelopeStore>;
  /** Several stores (nodes) can work on the same data at once. */
  readonly shared: boolean;
}

const T0 = Date.parse('2026-06-01T00:00:00Z');
const WIDE: StoreLimits = { mailboxMaxCount: 10_000, mailboxMaxBytes: 64 << 20, storeMaxBytes: 1 << 30, pushMaxTargets: 1_000_000 };

const mailbox = (): Buffer => randomBytes(32);
const body = (n: number, fill = randomBytes(1)[0]!): Buffer => Buffer.alloc(n, fill);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as RelayError).code ?? 'no_code';
  }
}

export function describeStoreContract(name: string, backend: () => StoreBackend): void {
  describe(`envelope store contract: ${name}`, () => {
    const opened: EnvelopeStore[] = [];
    const open = async (limits: StoreLimits = WIDE): Promise<EnvelopeStore> => {
      const s = await backend().open(limits);
      opened.push(s);
      return s;
    };
    const start = async (limits: StoreLimits = WIDE): Promise<EnvelopeStore> => {
      await backend().fresh();
      return open(limits);
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('lists a mailbox oldest first, bodies intact, ids in byte order, other mailboxes apart', async () => {
      const s = await start();
      const m = mailbox();
      const bodies = [body(256, 1), body(1024, 2), body(256, 3), body(256, 4)];
      const ids: Buffer[] = [];
      for (const [k, b] of bodies.entries()) ids.push(await s.put(m, b, T0 + (k < 2 ? 0 : 5))); // two share a millisecond
      const got = await s.list(m, undefined, 100);
      expect(got.map((e) => hex(e.id))).toEqual(ids.map(hex));
      expect(got.map((e) => hex(e.body))).toEqual(bodies.map(hex));
      expect([...ids].sort(Buffer.compare).map(hex)).toEqual(ids.map(hex));
      expect(await s.list(mailbox(), undefined, 100)).toEqual([]);
    });

    it('pages with an after-id cursor: every envelope once, in order', async () => {
      const s = await start();
      const m = mailbox();
      const ids: string[] = [];
      for (let k = 0; k < 25; k++) ids.push(hex(await s.put(m, body(256, k), T0 + k)));
      const seen: string[] = [];
      let after: Buffer | undefined;
      const pages: number[] = [];
      for (;;) {
        const page = await s.list(m, after, 10);
        pages.push(page.length);
        if (page.length === 0) break;
        seen.push(...page.map((e) => hex(e.id)));
        after = page[page.length - 1]!.id;
      }
      expect(pages).toEqual([10, 10, 5, 0]);
      expect(seen).toEqual(ids);
    });

    it('refuses past the per-mailbox count quota with mailbox_full, and takes again after an ack', async () => {
      const s = await start({ ...WIDE, mailboxMaxCount: 3 });
      const m = mailbox();
      const ids = [await s.put(m, body(256), T0), await s.put(m, body(256), T0), await s.put(m, body(256), T0)];
      expect(await codeOf(s.put(m, body(256), T0))).toBe('mailbox_full');
      expect(await codeOf(s.put(mailbox(), body(256), T0))).toBe('ok');
      expect(await s.ack(m, [ids[0]!])).toBe(1);
      expect(await codeOf(s.put(m, body(256), T0))).toBe('ok');
      expect(s.stats()).toEqual({ envelopes: 4, bytes: 1024 });
    });

    it('refuses past the per-mailbox byte quota, other mailboxes unaffected', async () => {
      const s = await start({ ...WIDE, mailboxMaxBytes: 1000 });
      const m = mailbox();
      await s.put(m, body(400), T0);
      await s.put(m, body(400), T0);
      expect(await codeOf(s.put(m, body(400), T0))).toBe('mailbox_full');
      expect(await codeOf(s.put(m, body(200), T0))).toBe('ok'); // exactly at the quota
      expect(await codeOf(s.put(mailbox(), body(400), T0))).toBe('ok');
      expect((await s.list(m, undefined, 10)).length).toBe(3);
    });

    it('refuses past the store-wide byte cap and frees it on ack', async () => {
      const s = await start({ ...WIDE, storeMaxBytes: 1000 });
      const a = mailbox();
      const id = await s.put(a, body(400), T0);
      await s.put(mailbox(), body(400), T0);
      expect(await codeOf(s.put(mailbox(), body(400), T0))).toBe('mailbox_full');
      expect(s.stats()).toEqual({ envelopes: 2, bytes: 800 });
      await s.ack(a, [id]);
      expect(await codeOf(s.put(mailbox(), body(400), T0))).toBe('ok');
      expect(s.stats()).toEqual({ envelopes: 2, bytes: 800 });
    });

    it('deletes on ack; unknown and repeated ids are ignored; unacked envelopes are listed again', async () => {
      const s = await start();
      const m = mailbox();
      const ids = [await s.put(m, body(256), T0), await s.put(m, body(1024), T0 + 1), await s.put(m, body(256), T0 + 2)];
      const first = await s.list(m, undefined, 10); // a reader got all three, acked only the first
      expect(first.length).toBe(3);
      expect(await s.ack(m, [ids[0]!, randomBytes(16), ids[0]!])).toBe(1);
      expect(await s.ack(m, [ids[0]!])).toBe(0);
      expect(await s.ack(mailbox(), [ids[1]!])).toBe(0); // another mailbox cannot delete it
      const again = await s.list(m, undefined, 10); // it reconnects: the unacked come again
      expect(again.map((e) => hex(e.id))).toEqual([ids[1]!, ids[2]!].map(hex));
      expect(s.stats()).toEqual({ envelopes: 2, bytes: 1280 });
      expect(await s.ack(m, [ids[1]!, ids[2]!])).toBe(2);
      expect(await s.list(m, undefined, 10)).toEqual([]);
      expect(s.stats()).toEqual({ envelopes: 0, bytes: 0 });
    });

    it('expires what arrived before the cutoff, across mailboxes, and keeps the rest', async () => {
      const s = await start();
      const [a, b] = [mailbox(), mailbox()];
      await s.put(a, body(256), T0); // ids never go back in time on one store: post in time order
      await s.put(b, body(1024), T0 + 1000);
      const keepA = await s.put(a, body(256), T0 + 2000);
      const keepB = await s.put(b, body(256), T0 + 3000);
      expect(await s.expire(T0 + 1500)).toBe(2);
      expect(await s.expire(T0 + 1500)).toBe(0);
      expect((await s.list(a, undefined, 10)).map((e) => hex(e.id))).toEqual([hex(keepA)]);
      expect((await s.list(b, undefined, 10)).map((e) => hex(e.id))).toEqual([hex(keepB)]);
      expect(s.stats()).toEqual({ envelopes: 2, bytes: 512 });
      await s.put(a, body(256), T0 + 2500); // posted after a sweep: still swept later
      expect(await s.expire(T0 + 10_000)).toBe(3);
      expect(s.stats()).toEqual({ envelopes: 0, bytes: 0 });
      expect(await s.put(a, body(256), T0 + 20_000)).toBeInstanceOf(Buffer);
    });

    it('keeps push targets per mailbox; the last one wins', async () => {
      const s = await start();
      const m = mailbox();
      const hour = Date.now() + 3_600_000;
      expect(await s.getPushTarget(m, Date.now())).toBeUndefined();
      await s.setPushTarget(m, { provider: 'webhook', token: 'tok-1' }, hour, Date.now());
      await s.setPushTarget(m, { provider: 'webhook', token: 'tok-2' }, hour, Date.now());
      expect(await s.getPushTarget(m, Date.now())).toEqual({ provider: 'webhook', token: 'tok-2' });
      expect(await s.getPushTarget(mailbox(), Date.now())).toBeUndefined();
    });

    it('forgets a push target at its expiry and deletes it; a re-registration extends it', async () => {
      const s = await start();
      const [gone, kept, renewed] = [mailbox(), mailbox(), mailbox()];
      const soon = Date.now() + 150; // real time: Redis expires keys by its own clock
      await s.setPushTarget(gone, { provider: 'webhook', token: 'gone' }, soon, Date.now());
      await s.setPushTarget(kept, { provider: 'webhook', token: 'kept' }, Date.now() + 3_600_000, Date.now());
      await s.setPushTarget(renewed, { provider: 'webhook', token: 'renewed' }, soon, Date.now());
      await s.setPushTarget(renewed, { provider: 'webhook', token: 'renewed' }, Date.now() + 3_600_000, Date.now());
      await new Promise((r) => setTimeout(r, 300));
      expect(await s.getPushTarget(gone, Date.now())).toBeUndefined();
      await s.expirePushTargets(Date.now());
      expect(await s.getPushTarget(gone, 0)).toBeUndefined(); // deleted, not only hidden
      expect(await s.getPushTarget(kept, Date.now())).toEqual({ provider: 'webhook', token: 'kept' });
      expect(await s.getPushTarget(renewed, Date.now())).toEqual({ provider: 'webhook', token: 'renewed' });
    });

    it('caps push targets: a new mailbox past pushMaxTargets is push_targets_full; a re-registration is not; an expired one frees its place', async () => {
      const s = await start({ ...WIDE, pushMaxTargets: 3 });
      const target = { provider: 'webhook', token: 't' };
      const hour = Date.now() + 3_600_000;
      const [brief, kept] = [mailbox(), mailbox()];
      await s.setPushTarget(brief, target, Date.now() + 150, Date.now());
      await s.setPushTarget(kept, target, hour, Date.now());
      // Concurrent first registrations (on two nodes when the backend is shared) never overshoot the cap.
      const other = backend().shared ? await open({ ...WIDE, pushMaxTargets: 3 }) : s;
      const racers = Array.from({ length: 8 }, () => mailbox());
      const codes = await Promise.all(racers.map((m, k) => codeOf((k % 2 === 0 ? s : other).setPushTarget(m, target, hour, Date.now()))));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'push_targets_full')).toHaveLength(7);
      expect(await codeOf(s.setPushTarget(kept, { provider: 'webhook', token: 'new device' }, hour, Date.now()))).toBe('ok');
      expect(await s.getPushTarget(kept, Date.now())).toEqual({ provider: 'webhook', token: 'new device' });
      const late = mailbox();
      expect(await codeOf(s.setPushTarget(late, target, hour, Date.now()))).toBe('push_targets_full');
      expect(await s.getPushTarget(late, Date.now())).toBeUndefined();
      await new Promise((r) => setTimeout(r, 300));
      await s.expirePushTargets(Date.now());
      expect(await codeOf(s.setPushTarget(late, target, hour, Date.now()))).toBe('ok');
      expect(await s.getPushTarget(late, Date.now())).toEqual(target);
    });

    it('keeps data, usage and id order across close and reopen; a closed store refuses', async () => {
      const s = await start({ ...WIDE, mailboxMaxCount: 3 });
      const m = mailbox();
      const ids = [await s.put(m, body(256), T0), await s.put(m, body(1024), T0 + 1)];
      await s.setPushTarget(m, { provider: 'webhook', token: 't' }, Date.now() + 3_600_000, Date.now());
      await s.close();
      expect(await codeOf(s.put(m, body(256), T0))).toBe('store_unavailable');
      const r = await open({ ...WIDE, mailboxMaxCount: 3 });
      expect(r.stats()).toEqual({ envelopes: 2, bytes: 1280 });
      expect((await r.list(m, undefined, 10)).map((e) => hex(e.id))).toEqual(ids.map(hex));
      expect(await r.getPushTarget(m, Date.now())).toEqual({ provider: 'webhook', token: 't' });
      const late = await r.put(m, body(256), T0 - 60_000); // a clock behind the stored ids
      expect(Buffer.compare(late, ids[1]!)).toBe(1);
      expect(await codeOf(r.put(m, body(256), T0))).toBe('mailbox_full'); // quota survived the restart
    });

    it.runIf(backend().shared)('holds a mailbox quota and the global cap across two store instances posting at once', async () => {
      await backend().fresh();
      const limits = { ...WIDE, mailboxMaxCount: 50, storeMaxBytes: 80 * 256 };
      const [n1, n2] = [await open(limits), await open(limits)];
      const m = mailbox();
      const codes = await Promise.all(Array.from({ length: 120 }, (_, k) => codeOf((k % 2 ? n1 : n2).put(m, body(256), T0 + k))));
      expect(codes.filter((c) => c === 'ok').length).toBe(50);
      expect(codes.filter((c) => c === 'mailbox_full').length).toBe(70);
      expect((await n1.list(m, undefined, 1000)).length).toBe(50);
      // 30 * 256 bytes of global room left; 60 posts to fresh mailboxes from both nodes
      const more = await Promise.all(Array.from({ length: 60 }, (_, k) => codeOf((k % 2 ? n1 : n2).put(mailbox(), body(256), T0))));
      expect(more.filter((c) => c === 'ok').length).toBe(30);
      await n2.ack(m, (await n2.list(m, undefined, 1000)).map((e) => e.id));
      expect(n2.stats()).toEqual({ envelopes: 30, bytes: 30 * 256 });
    });

    it.runIf(backend().shared)('two nodes sweeping at once expire each envelope once', async () => {
      await backend().fresh();
      const [n1, n2] = [await open(), await open()];
      for (let k = 0; k < 40; k++) await (k % 2 ? n1 : n2).put(mailbox(), body(256), T0 + k);
      const [e1, e2] = await Promise.all([n1.expire(T0 + 100), n2.expire(T0 + 100)]);
      expect(e1 + e2).toBe(40);
      expect(await n1.expire(T0 + 100)).toBe(0);
      expect(n1.stats()).toEqual({ envelopes: 0, bytes: 0 });
    });
  });
}
