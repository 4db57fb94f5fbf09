// Differential driver for the native TURN forwarder (native/src/turn_forward.cc) against the
// TypeScript data path (src/turn/core/data-path.ts plus TurnCore.handleUdp's demux and Send
// decoding): the same allocations, permissions, channels, random and mutated datagrams and clock
// values go to both, and every emitted message must be byte-identical. Deterministic PRNG.
import { Attr, DecodeResult, Method, StunClass, StunMessage, StunWriter, TransportAddress, decodeAddress, decodeStun, verifyFingerprint, AddressResult } from '../../../src/turn/codec/index.js';
import { Allocation } from '../../../src/turn/core/allocation.js';
import { DataPath } from '../../../src/turn/core/data-path.js';
import { createTurnStats, type ClientRef, type TurnIo } from '../../../src/turn/core/types.js';
import { NativeAction, NATIVE_TURN_STATS_LEN, packForwarding, type NativeTurnAddon, type NativeTurnHandle } from '../../../src/turn/server/native-turn.js';
import { seededRng as prng } from '../../../src/load/rng.js';

export { prng };


interface Emitted {
  kind: 'client' | 'peer';
  bytes: Buffer;
  ip?: string;
  port?: number;
}

class RecordingIo implements TurnIo {
  out: Emitted[] = [];
  sendToClient(_c: ClientRef, data: Buffer): void {
    this.out.push({ kind: 'client', bytes: Buffer.from(data) });
  }
  sendToPeer(_a: Allocation, ip: string, port: number, data: Buffer): void {
    this.out.push({ kind: 'peer', bytes: Buffer.from(data), ip, port });
  }
  openRelay(): void {}
  closeRelay(): void {}
}

export interface DiffReport {
  mismatches: string[];
  toPeer: number;
  toClient: number;
  dataIndications: number;
  up: number;
  dropped: number;
}

const V4 = ['127.0.0.1', '192.0.2.7', '198.51.100.20', '203.0.113.9'];
const V6 = ['::1', '2001:db8::5', '2001:db8:0:1::77', 'fe80::1:2', '::ffff:192.0.2.7'];

export function runTurnDifferential(addon: NativeTurnAddon, cases: number, seed: number): DiffReport {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number): number => Math.floor(rand() * n);
  const tidPrefix = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const native: NativeTurnHandle = new addon.NativeTurn(tidPrefix);
  const io = new RecordingIo();
  const stats = createTurnStats();
  const ts = new DataPath(io, stats, tidPrefix);
  const out = Buffer.alloc(addon.turnMaxClientMessage);
  const act = new Int32Array(5);
  const ipOut = new Uint8Array(17);
  const msg = new StunMessage();
  const addr = new TransportAddress();
  const rep: DiffReport = { mismatches: [], toPeer: 0, toClient: 0, dataIndications: 0, up: 0, dropped: 0 };
  // Sends the TS core forwarded after native handed them up (native's counters do not include them).
  let upPackets = 0;
  let upBytes = 0;
  const base = 1_700_000_000_000;

  // Allocations: IPv4 and IPv6 relays, each with a few permissions and channels, expiring around `base`.
  const allocs: Allocation[] = [];
  for (let id = 1; id <= 6; id++) {
    const family = id % 2 === 0 ? 6 : 4;
    const client: ClientRef = { transport: 'udp', ip: family === 4 ? `10.1.0.${id}` : `2001:db8:c::${id}`, port: 40000 + id, key: `c${id}`, conn: undefined };
    const a = new Allocation(id, client, 'u', Buffer.alloc(16), false, family, Buffer.alloc(12), base + 600_000);
    const pool = family === 4 ? V4 : V6;
    for (const ip of pool) if (rand() < 0.7) a.permissions.set(ip, base + int(2000) - 1000);
    let n = 0x4000 + int(100);
    for (let k = 0; k < 3; k++) {
      const ip = pick(pool);
      const port = 1 + int(65535);
      if (a.channelForPeer(ip, port)) continue;
      a.bindChannel(n, ip, port, base + int(2000) - 1000);
      n += 1 + int(50);
    }
    if (!native.add(id, client.ip, client.port, family) || !native.sync(id, packForwarding(a))) rep.mismatches.push(`setup of allocation ${id} failed`);
    allocs.push(a);
  }

  const payload = (): Buffer => {
    const r = rand();
    const len = r < 0.05 ? 0 : r < 0.9 ? int(300) : r < 0.98 ? 1000 + int(600) : 65_400 + int(100);
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) b[i] = int(256);
    return b;
  };
  const mutate = (b: Buffer): Buffer => {
    const c = Buffer.from(b);
    const n = 1 + int(3);
    for (let i = 0; i < n && c.length > 0; i++) c[int(c.length)] = int(256);
    if (rand() < 0.2) return c.subarray(0, int(c.length + 1));
    return c;
  };
  const peerOf = (a: Allocation): { ip: string; port: number } => {
    const chans = [...a.channels.values()];
    if (chans.length > 0 && rand() < 0.6) {
      const ch = pick(chans);
      return { ip: ch.ip, port: rand() < 0.9 ? ch.port : 1 + int(65535) };
    }
    return { ip: pick(a.family === 4 ? V4 : V6), port: 1 + int(65535) };
  };

  for (let i = 0; i < cases; i++) {
    const a = pick(allocs);
    const now = base + int(2400) - 1200;
    io.out.length = 0;
    const kind = rand();
    if (kind < 0.4) {
      // A peer datagram on the relay socket: ChannelData or a Data indication to the client.
      const { ip, port } = peerOf(a);
      const data = payload();
      ts.fromPeer(a, ip, port, data, now);
      const n = native.fromPeer(a.id, data, ip, port, now, out);
      const want = io.out[0]?.bytes;
      if ((want === undefined) !== (n === 0) || (want !== undefined && !want.equals(out.subarray(0, n)))) {
        rep.mismatches.push(`fromPeer case ${i}: ts ${want?.subarray(0, 48).toString('hex') ?? 'drop'} native ${n === 0 ? 'drop' : out.subarray(0, Math.min(n, 48)).toString('hex')}`);
      }
      if (want) {
        rep.toClient++;
        if (want.readUInt16BE(0) === 0x0017) rep.dataIndications++;
      } else rep.dropped++;
      continue;
    }
    // A client datagram: ChannelData, a Send indication, either mutated, or random bytes.
    let buf: Buffer;
    const { ip, port } = peerOf(a);
    if (kind < 0.65) {
      const chans = [...a.channels.values()];
      const number = chans.length > 0 && rand() < 0.85 ? pick(chans).number : 0x4000 + int(0x3fff);
      const data = payload().subarray(0, 1400);
      buf = Buffer.alloc(4 + data.length + int(4));
      buf.writeUInt16BE(number, 0);
      buf.writeUInt16BE(rand() < 0.95 ? data.length : int(65536), 2);
      data.copy(buf, 4);
    } else if (kind < 0.9) {
      const w = new StunWriter().begin(Method.send, StunClass.indication, Buffer.from(Array.from({ length: 12 }, () => int(256))));
      const data = payload().subarray(0, 1400);
      const order = rand();
      if (order < 0.9) w.address(Attr.xorPeerAddress, ip, rand() < 0.02 ? 0 : port).bytes(Attr.data, data);
      else w.bytes(Attr.data, data).address(Attr.xorPeerAddress, ip, port);
      if (rand() < 0.05) w.string(Attr.software, 'x');
      if (rand() < 0.5) w.fingerprint();
      buf = w.finish();
    } else {
      buf = Buffer.alloc(int(64));
      for (let k = 0; k < buf.length; k++) buf[k] = int(256);
    }
    if (rand() < 0.25) buf = mutate(buf);

    // The TypeScript reference: TurnCore.handleUdp with an allocation present.
    let tsOutcome: 'peer' | 'drop' | 'core' = 'drop';
    const b0 = buf.length > 0 ? buf[0]! : 0xff;
    if ((b0 & 0xc0) === 0x40) {
      ts.fromClientChannelData(a, buf, now);
      tsOutcome = io.out.length > 0 ? 'peer' : 'drop';
    } else if ((b0 & 0xc0) !== 0) {
      tsOutcome = 'drop';
    } else if (decodeStun(buf, msg) !== DecodeResult.ok || (msg.fingerprintAt >= 0 && !verifyFingerprint(msg.buf, msg.fingerprintAt))) {
      tsOutcome = 'core'; // dropped and counted by the core
    } else if (msg.cls === StunClass.indication && msg.method === Method.send) {
      const pv = msg.value(Attr.xorPeerAddress);
      const dv = msg.value(Attr.data);
      if (pv === undefined || dv === undefined || decodeAddress(pv, msg.transactionId(), addr) !== AddressResult.ok || addr.port === 0) tsOutcome = 'core';
      else {
        ts.fromClientSend(a, addr.ip, addr.port, dv, now);
        tsOutcome = io.out.length > 0 ? 'peer' : 'drop';
      }
    } else {
      tsOutcome = 'core';
    }

    const action = native.fromClient(buf, a.client.ip, a.client.port, now, act, ipOut);
    if (action === NativeAction.up) {
      rep.up++;
      if (tsOutcome === 'peer') {
        upPackets++;
        upBytes += io.out[0]!.bytes.length;
      }
      // Handed to the core, which then does exactly the TypeScript thing: only a plain, valid Send
      // or ChannelData must never take this detour.
      if ((b0 & 0xc0) === 0x40) rep.mismatches.push(`case ${i}: ChannelData handed up`);
      continue;
    }
    if (action === NativeAction.drop) {
      rep.dropped++;
      if (tsOutcome !== 'drop') rep.mismatches.push(`case ${i}: native dropped, ts ${tsOutcome} (${buf.subarray(0, 40).toString('hex')})`);
      continue;
    }
    rep.toPeer++;
    const e = io.out[0];
    const data = buf.subarray(act[3]!, act[3]! + act[4]!);
    if (tsOutcome !== 'peer' || e === undefined) {
      rep.mismatches.push(`case ${i}: native forwarded, ts ${tsOutcome} (${buf.subarray(0, 40).toString('hex')})`);
      continue;
    }
    if (act[1] !== a.id || act[2] !== e.port || !data.equals(e.bytes)) rep.mismatches.push(`case ${i}: forwarded differently (port ${act[2]} vs ${e.port})`);
  }

  // Counters: what both forwarded and what both refused for missing permission or channel.
  const ns = new Float64Array(NATIVE_TURN_STATS_LEN);
  native.stats(ns);
  const tsCounts = [stats.relayedPackets.toPeer - upPackets, stats.relayedBytes.toPeer - upBytes, stats.relayedPackets.toClient, stats.relayedBytes.toClient];
  if (tsCounts.join() !== Array.from(ns.subarray(0, 4)).join()) rep.mismatches.push(`relayed counters ts ${tsCounts.join()} native ${Array.from(ns.subarray(0, 4)).join()}`);
  return rep;
}
