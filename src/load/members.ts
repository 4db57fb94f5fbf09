/**
 * A simulated participant: one CallClient from the project's SDK, optionally behind an observer
 * tap, with the bookkeeping the report needs (send times by sequence number, what it received
 * from whom) and, in leak runs, its unpadded mirror stream.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CallClient } from '../client/call/call-client.js';
import type { CallStats } from '../client/call/call-types.js';
import type { E2ePaddingStatus } from '../client/call/e2e-padding-gate.js';
import { TraceRecorder, UdpTap } from './leak/tap.js';
import { RtcLoadCall } from './rtc/rtc-load-call.js';
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

/** What the kit uses of a participant's call: met by the SDK's CallClient (cells) and RtcLoadCall (WebRTC edge). */
export interface LoadCall {
  readonly session: number;
  readonly capacity: number;
  readonly profile: { readonly tickMs: number };
  readonly stats: CallStats;
  readonly e2ePaddingStatus: E2ePaddingStatus;
  send(frame: Uint8Array): void;
  leave(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The relay-side view of WebRTC senders (leak runs): per sender id, the receiver that records what
 * the relay forwarded from it (time and RTP payload size of every packet), and its trace.
 */
export type RelayViews = Map<number, { by: number; trace: TraceRecorder }>;

/** Shared sinks for what members receive: the run's latency histograms and per-interval counters. */
export interface Collector {
  latency: LatencyRecorder;
  deliveredTick: number;
  /** Media bytes (the packets inside the e2e records) delivered, unique only. */
  deliveredBytes: number;
  /** Set when the run's figures are taken (with the SDK's counters, in one step): later frames are not counted. */
  closed: boolean;
  relayViews?: RelayViews;
}

export class Member {
  call: LoadCall | undefined;
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

  get rtc(): boolean {
    return this.group.transport === 'rtc';
  }

  async join(url: string | readonly string[], relayUdp: { host: string; port: number } | undefined, collector: Collector, mirrorSink: number | undefined): Promise<void> {
    const transport = this.group.transport ?? 'udp';
    let udpTarget: { host: string; port: number } | undefined;
    if (this.observed && transport === 'rtc') this.tap = new UdpTap({ host: '127.0.0.1', port: 0 }, 1 << 18);
    else if (this.observed && relayUdp !== undefined && transport !== 'ws') {
      this.tap = new UdpTap(relayUdp, 1 << 18);
      udpTarget = await this.tap.start();
    }
    if (mirrorSink !== undefined) {
      this.mirror = new UnpaddedMirror(mirrorSink, 1 << 17);
      await this.mirror.start();
    }
    const started = performance.now();
    if (transport === 'rtc') {
      this.call = await RtcLoadCall.join({
        relay: typeof url === 'string' ? url : url[0]!,
        callSecret: this.room.secret,
        profile: this.group.profile,
        slots: this.group.participants - 1,
        ...(this.tap !== undefined ? { tap: this.tap } : {}),
        onFrame: (f, payloadBytes) => this.onFrame(collector, f, payloadBytes),
      });
    } else {
      const call = await CallClient.join({
        relay: url,
        callSecret: this.room.secret,
        profile: this.group.profile,
        transport,
        e2ePadding: this.room.e2ePadding,
        ...(this.group.packetBytes !== undefined ? { packetBytes: this.group.packetBytes } : {}),
        ...(udpTarget !== undefined ? { udpTarget } : {}),
      });
      call.on('frame', (f) => this.onFrame(collector, f.data, 0));
      this.call = call;
    }
    this.joinMs = performance.now() - started;
    this.joinedAt = nowEpochMs();
  }

  /** A media frame that arrived (opened end to end); `payloadBytes` is the RTP payload it came in (WebRTC only). */
  private onFrame(collector: Collector, data: Uint8Array, payloadBytes: number): void {
    if (collector.closed) return;
    const info = readFrame(data);
    if (info === undefined) {
      this.frameFailures++;
      return;
    }
    const now = nowEpochMs();
    const view = collector.relayViews?.get(info.senderId);
    if (view !== undefined && view.by === this.id) view.trace.record(now, payloadBytes, 1);
    let track = this.tracks.get(info.senderId);
    if (track === undefined) {
      track = new StreamTrack();
      this.tracks.set(info.senderId, track);
    }
    const transit = now - info.sentAt;
    if (track.onFrame(info.seq, transit)) {
      collector.latency.record(this.room.series, transit);
      collector.deliveredTick++;
      collector.deliveredBytes += data.length;
    }
  }

  /** Sends media frame `seq` of `size` bytes (clipped to what the SDK carries), stamped `at` (epoch ms: the frame clock's tick). */
  sendFrame(size: number, at = nowEpochMs()): void {
    const call = this.call;
    if (call === undefined) return;
    const seq = this.sendTimes.length;
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
