/**
 * A simulated participant: one CallClient from the project's SDK, optionally behind an observer
 * tap, with the bookkeeping the report needs (send times by sequence number, what it received
 * from whom) and, in leak runs, its unpadded mirror stream.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CallClient } from '../client/call/call-client.js';
import type { E2ePaddingStatus } from '../client/call/e2e-padding-gate.js';
import { UdpTap } from './leak/tap.js';
import { UnpaddedMirror } from './leak/unpadded.js';
import { buildFrame, F64List, nowEpochMs, readFrame, StreamTrack } from './frames.js';
import type { LatencyRecorder } from './intervals.js';
import type { Rng } from './rng.js';
import type { RoomGroup } from './scenario.js';
import type { Intervals } from './speech.js';

export interface Room {
  index: number;
  group: number;
  secret: Uint8Array;
  e2ePadding: boolean;
  /** Index of the report's series this room counts in (intervals.ts). */
  series: number;
  members: Member[];
}

/** Shared sinks for what members receive: the run's latency histograms and per-interval counters. */
export interface Collector {
  latency: LatencyRecorder;
  deliveredTick: number;
  /** Media bytes (the packets inside the e2e records) delivered, unique only. */
  deliveredBytes: number;
  /** Set when the run's figures are taken (with the SDK's counters, in one step): later frames are not counted. */
  closed: boolean;
}

export class Member {
  call: CallClient | undefined;
  tap: UdpTap | undefined;
  mirror: UnpaddedMirror | undefined;
  joinedAt = NaN;
  joinMs = NaN;
  leftAt = Infinity;
  /** Send time (epoch ms) of each media frame, by sequence number. */
  readonly sendTimes = new F64List(256);
  /** Next frame index (of the group's frame clock) to consider. */
  nextFrame = 0;
  readonly tracks = new Map<number, StreamTrack>();
  frameFailures = 0;
  /** Media bytes handed to the SDK. */
  bytesSent = 0;
  /** The SDK's e2e padding status when the run's figures were taken (before the leaves change rosters again). */
  e2eAtEnd: { status: E2ePaddingStatus; withheld: number } | undefined;

  constructor(
    readonly id: number,
    readonly room: Room,
    readonly group: RoomGroup,
    readonly rng: Rng,
    readonly talk: Intervals | undefined,
    readonly observed: boolean,
  ) {}

  get live(): boolean {
    return this.call !== undefined && this.leftAt === Infinity;
  }

  async join(url: string | readonly string[], relayUdp: { host: string; port: number } | undefined, collector: Collector, mirrorSink: number | undefined): Promise<void> {
    const transport = this.group.transport ?? 'udp';
    let udpTarget: { host: string; port: number } | undefined;
    if (this.observed && relayUdp !== undefined && transport !== 'ws') {
      this.tap = new UdpTap(relayUdp, 1 << 18);
      udpTarget = await this.tap.start();
    }
    if (mirrorSink !== undefined) {
      this.mirror = new UnpaddedMirror(mirrorSink, 1 << 17);
      await this.mirror.start();
    }
    const started = performance.now();
    const call = await CallClient.join({
      relay: url,
      callSecret: this.room.secret,
      profile: this.group.profile,
      transport,
      e2ePadding: this.room.e2ePadding,
      ...(this.group.packetBytes !== undefined ? { packetBytes: this.group.packetBytes } : {}),
      ...(udpTarget !== undefined ? { udpTarget } : {}),
    });
    this.joinMs = performance.now() - started;
    this.joinedAt = nowEpochMs();
    call.on('frame', (f) => {
      if (collector.closed) return;
      const info = readFrame(f.data);
      if (info === undefined) {
        this.frameFailures++;
        return;
      }
      let track = this.tracks.get(info.senderId);
      if (track === undefined) {
        track = new StreamTrack();
        this.tracks.set(info.senderId, track);
      }
      const transit = nowEpochMs() - info.sentAt;
      if (track.onFrame(info.seq, transit)) {
        collector.latency.record(this.room.series, transit);
        collector.deliveredTick++;
        collector.deliveredBytes += f.data.length;
      }
    });
    this.call = call;
  }

  /** Sends media frame `seq` of `size` bytes (clipped to what the SDK carries). */
  sendFrame(size: number): void {
    const call = this.call;
    if (call === undefined) return;
    const seq = this.sendTimes.length;
    const at = nowEpochMs();
    this.sendTimes.push(at);
    const frame = buildFrame(this.id, seq, Math.min(call.capacity, size), at);
    this.bytesSent += frame.length;
    call.send(frame);
  }

  async leave(): Promise<void> {
    if (this.call === undefined || this.leftAt !== Infinity) return;
    this.leftAt = nowEpochMs();
    await this.call.leave();
  }

  closeTaps(): void {
    this.tap?.close();
    this.mirror?.close();
  }
}

export function newRoom(index: number, group: number, e2ePadding: boolean, series: number): Room {
  return { index, group, secret: randomBytes(32), e2ePadding, series, members: [] };
}
