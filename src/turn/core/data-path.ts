/**
 * The relay hot path, isolated so a native data plane can replace it: ChannelData from a client
 * (RFC 8656 section 12.6), Send indications (section 11.2), and peer datagrams back to the client as
 * ChannelData or Data indications (sections 11.3, 12.5). No exceptions, no logging, no closures;
 * drops are counted in `TurnStats`.
 */
import { Attr, Method, StunClass } from '../codec/constants.js';
import { CHANNEL_DATA_HEADER, channelDataLength, writeChannelDataHeader } from '../codec/channel-data.js';
import { StunWriter } from '../codec/writer.js';
import type { Allocation } from './allocation.js';
import type { TurnIo, TurnStats } from './types.js';

/** Largest peer datagram relayed: a Data indication carrying it must fit a STUN length field. */
const MAX_RELAYED = 0xffff - 64;

export class DataPath {
  private readonly writer = new StunWriter(2048);
  private readonly tid: Buffer;
  private tidCounter = 0;

  constructor(
    private readonly io: TurnIo,
    private readonly stats: TurnStats,
    tidPrefix: Uint8Array,
  ) {
    this.tid = Buffer.alloc(12);
    this.tid.set(tidPrefix.subarray(0, 8));
  }

  /** A ChannelData message `buf` from the allocation's client. */
  fromClientChannelData(alloc: Allocation, buf: Buffer, nowMs: number): void {
    const number = (buf[0]! << 8) | buf[1]!;
    const length = channelDataLength(buf);
    if (CHANNEL_DATA_HEADER + length > buf.length) {
      this.stats.dropped.malformed++;
      return;
    }
    const ch = alloc.channels.get(number);
    if (ch === undefined || ch.expiresAt <= nowMs) {
      this.stats.dropped.no_channel++;
      return;
    }
    if (!alloc.hasPermission(ch.ip, nowMs)) {
      this.stats.dropped.no_permission++;
      return;
    }
    this.stats.relayedPackets.toPeer++;
    this.stats.relayedBytes.toPeer += length;
    this.io.sendToPeer(alloc, ch.ip, ch.port, buf.subarray(CHANNEL_DATA_HEADER, CHANNEL_DATA_HEADER + length));
  }

  /** The payload of a Send indication already decoded by the core. */
  fromClientSend(alloc: Allocation, ip: string, port: number, data: Buffer, nowMs: number): void {
    if (!alloc.hasPermission(ip, nowMs)) {
      this.stats.dropped.no_permission++;
      return;
    }
    this.stats.relayedPackets.toPeer++;
    this.stats.relayedBytes.toPeer += data.length;
    this.io.sendToPeer(alloc, ip, port, data);
  }

  /** A datagram that arrived on the allocation's relay socket from `ip:port`. */
  fromPeer(alloc: Allocation, ip: string, port: number, data: Buffer, nowMs: number): void {
    if (data.length > MAX_RELAYED) {
      this.stats.dropped.malformed++;
      return;
    }
    if (!alloc.hasPermission(ip, nowMs)) {
      this.stats.dropped.no_permission++;
      return;
    }
    const ch = alloc.channelForPeer(ip, port);
    let out: Buffer;
    if (ch !== undefined && ch.expiresAt > nowMs) {
      const total = CHANNEL_DATA_HEADER + data.length;
      // Over TCP ChannelData is padded to 4 bytes (RFC 8656 section 12.5); over UDP it is not.
      const size = alloc.client.transport === 'tcp' ? (total + 3) & ~3 : total;
      out = Buffer.allocUnsafe(size);
      writeChannelDataHeader(out, 0, ch.number, data.length);
      data.copy(out, CHANNEL_DATA_HEADER);
      if (size > total) out.fill(0, total);
    } else {
      this.tid.writeUInt32BE(this.tidCounter = (this.tidCounter + 1) >>> 0, 8);
      out = this.writer.begin(Method.data, StunClass.indication, this.tid).address(Attr.xorPeerAddress, ip, port).bytes(Attr.data, data).finish();
    }
    this.stats.relayedPackets.toClient++;
    this.stats.relayedBytes.toClient += data.length;
    this.io.sendToClient(alloc.client, out);
  }
}
