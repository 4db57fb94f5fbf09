/** Drives CallClients in tests: paced sends of numbered, fake-RTP packets and per-sender receive logs. */
import { randomBytes } from 'node:crypto';
import { CallClient, type CallOptions } from '../../src/client/call/call-client.js';
import { sleep } from './harness.js';

/** A fake RTP packet: 12-byte header (V=2, PT 111, seq, timestamp, SSRC) then a recognisable payload. */
export function rtpPacket(slot: number, seq: number, size = 92): Buffer {
  const b = Buffer.alloc(size, 0x61 + (seq % 26));
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 960, 4);
  b.writeUInt32BE(0xc0ffee00 + slot, 8);
  b.write(`PLAINTEXT-FRAME-${slot}-${seq}`, 12);
  return b;
}

export function seqOf(p: Uint8Array): number {
  return Buffer.from(p).readUInt16BE(2);
}

export interface Party {
  call: CallClient;
  /** Per sender slot: sequence numbers in arrival order. */
  got: Map<number, number[]>;
}

export async function joinAll(n: number, opts: Omit<CallOptions, 'callSecret'> & { callSecret?: Uint8Array }): Promise<Party[]> {
  const callSecret = opts.callSecret ?? randomBytes(32);
  const parties: Party[] = [];
  for (let i = 0; i < n; i++) {
    const call = await CallClient.join({ ...opts, callSecret });
    const got = new Map<number, number[]>();
    call.on('frame', (f) => {
      const list = got.get(f.slot) ?? [];
      list.push(seqOf(f.data));
      got.set(f.slot, list);
    });
    parties.push({ call, got });
  }
  // every member has seen the full roster
  for (let t = 0; t < 200 && parties.some((p) => p.call.roster.length !== n); t++) await sleep(10);
  return parties;
}

/** Each party sends `count` packets, one every `everyMs`, then the test waits for the tail. */
export async function talk(parties: Party[], count: number, everyMs: number, size?: number): Promise<void> {
  for (let s = 0; s < count; s++) {
    for (const p of parties) p.call.send(rtpPacket(p.call.slot, s, size));
    await sleep(everyMs);
  }
  await sleep(250);
}

export function expectAllDelivered(parties: Party[], count: number): string[] {
  const problems: string[] = [];
  const want = Array.from({ length: count }, (_, i) => i);
  for (const r of parties) {
    for (const s of parties) {
      if (s === r) continue;
      const got = r.got.get(s.call.slot) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`slot ${r.call.slot} from ${s.call.slot}: ${got.length}/${count} ${got.slice(0, 5).join(',')}...`);
    }
  }
  return problems;
}

export async function leaveAll(parties: Party[]): Promise<void> {
  await Promise.all(parties.map((p) => p.call.close()));
}
