/**
 * CallClient: one participant of a 1:1 call or group room through the relay's media plane.
 *
 *   const call = await CallClient.join({ relay: 'http://127.0.0.1:7800', callSecret, profile: 'audio' });
 *   call.on('frame', (f) => play(f.slot, f.data));
 *   call.send(rtpPacket);              // sealed end to end, padded, sent at the next tick
 *   await call.leave();
 *
 * Layers: every packet is sealed end to end (sframe.ts, per-sender keys from the call secret) and
 * padded to one record size; records ride in hop cells (hop-link.ts) of one size per direction,
 * one per tick of the profile whether there is media or not (hop padding). With `e2ePadding` the
 * client also sends a sealed dummy record at every tick with no media, so the relay itself cannot
 * tell speech from silence, as long as the room is small enough for every member's downlink to
 * carry everyone's records (e2e-padding-gate.ts; above that it is suspended and announced).
 * UDP first, WebSocket when UDP gets no answer at join or, with 'auto', falls silent mid-call
 * (downlink-watch.ts): the same session moves over, no re-join. Where the platform has no UDP
 * (browsers), 'auto' means the WebSocket from the start.
 *
 * Portable: web-standard APIs only (fetch, performance.now, timers, Uint8Array); sockets come
 * from the installed runtime (runtime.ts). Every failure is an XrelayClientError with a code.
 */
import { CONTROL_SLOT, maxRecordPayload } from '../../wire/cell-layout.js';
import { CONTROL_LEAVE, parseRoster } from '../../wire/control-records.js';
import { XrelayClientError } from '../client-error.js';
import { TypedEmitter } from '../emitter.js';
import { ready } from '../ready.js';
import { relayWsUrl } from '../relay-url.js';
import { hasUdp, openUdp, openWs, type CellTransport } from './cell-transport.js';
import { defaultSilenceMs, DownlinkWatch } from './downlink-watch.js';
import { E2ePaddingGate, paddedRoomLimit, type E2ePaddingStatus } from './e2e-padding-gate.js';
import { CallKeys, checkCallSecret, kidOf } from './e2e-keys.js';
import type { HopLink } from './hop-link.js';
import type { JoinAnswer } from './join-request.js';
import { defaultRejoinSilenceMs, joinSession, randomCounterStart } from './session-join.js';
import { capacityOf, recordBytes, sealRecord } from './sframe.js';
import { emptyCallStats, type CallEvents, type CallFrame, type CallOptions, type CallStats } from './call-types.js';
import { E2eInbox } from './e2e-inbox.js';

export type { CallClosed, CallEvents, CallFrame, CallOptions, CallStats, Reconnecting, Rejoined, TransportChange } from './call-types.js';

export class CallClient extends TypedEmitter<CallEvents> {
  readonly stats: CallStats = emptyCallStats();

  readonly capacity: number;
  epoch: number;
  roster: number[] = [];
  private keys: CallKeys;
  private oldKeys: CallKeys | undefined;
  private transport: CellTransport | undefined;
  private readonly queue: Uint8Array[] = [];
  private inbox: E2eInbox;
  /**
   * The e2e record counter. It starts at a random multiple of 2^20: a room made again with the same
   * call secret (everyone left and came back, or a cluster failover moved it to another node) counts
   * its epochs from 1 again, so a key (epoch, slot) can serve another sender than before; disjoint
   * counter ranges keep every (key, nonce) pair unique (docs/PROTOCOL.md §9).
   */
  private ctr = randomCounterStart();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextTick = 0;
  private leaving = 0;
  private departing = false;
  private closed = false;
  private gotCell: (() => void) | undefined;
  private readonly padding: E2ePaddingGate;
  /** Downlink silence on UDP ('auto' only): triggers failover to the WebSocket. */
  private readonly watch: DownlinkWatch | undefined;
  private switching = false;
  /** Downlink silence on any transport: triggers a rejoin (cluster failover). */
  private readonly rejoinWatch: DownlinkWatch;
  private rejoining = false;
  /** Events raised before join() resolved, delivered just after (undefined once delivered). */

  private constructor(
    private readonly opts: CallOptions,
    private answer: JoinAnswer,
    private hopLink: HopLink,
    private relayUrl: string,
  ) {
    super();
    this.holdEvents(); // until join() has returned the call to its caller
    this.keys = new CallKeys(opts.callSecret);
    this.inbox = new E2eInbox(this.stats);
    this.epoch = answer.epoch;
    const max = capacityOf(maxRecordPayload(answer.profile.upBytes));
    this.capacity = opts.packetBytes ?? max;
    if (!Number.isInteger(this.capacity) || this.capacity < 1 || this.capacity > max) throw new RangeError(`packetBytes must be 1..${max} for profile ${answer.profile.name}`);
    this.padding = new E2ePaddingGate(opts.e2ePadding === true, paddedRoomLimit(answer.profile.downBytes, recordBytes(this.capacity)));
    if ((opts.transport ?? 'auto') === 'auto') this.watch = new DownlinkWatch(opts.failoverSilenceMs ?? defaultSilenceMs(answer.profile.tickMs));
    this.rejoinWatch = new DownlinkWatch(opts.rejoinSilenceMs ?? defaultRejoinSilenceMs(answer.profile.tickMs));
  }

  /** The hop layer of the current session (a rejoin makes a new one). */
  get hop(): HopLink {
    return this.hopLink;
  }
  /** Base URL of the node serving this session (a cluster may have redirected the join, a rejoin moved it). */
  get relay(): string {
    return this.relayUrl;
  }
  get slot(): number {
    return this.answer.slot;
  }
  get session(): number {
    return this.answer.session;
  }
  get profile(): JoinAnswer['profile'] {
    return this.answer.profile;
  }
  get transportKind(): 'udp' | 'ws' | undefined {
    return this.transport?.kind;
  }
  /** Bytes of every end-to-end record this client sends (what the relay sees per record). */
  get recordBytes(): number {
    return recordBytes(this.capacity);
  }
  /** Whether e2e dummies are going out, and why (room size against what the downlink can pad for). */
  get e2ePaddingStatus(): E2ePaddingStatus {
    return this.padding.status;
  }

  /**
   * Joins the room named by the call secret. Rejects with an XrelayClientError: the relay's code
   * (`room_full`, `unknown_profile`, ...), or `bad_secret`, `network` (no answer), `timeout`,
   * `unsupported` (transport 'udp' without UDP). A join whose transport never came up leaves the
   * room at once (the relay frees the slot), so a failed join holds no slot.
   */
  static async join(opts: CallOptions): Promise<CallClient> {
    checkCallSecret(opts.callSecret);
    const want = opts.transport ?? 'auto';
    if (want === 'udp' && !hasUdp()) throw new XrelayClientError('unsupported', 'this platform has no UDP: use transport "ws" or "auto"');
    await ready();
    const { answer: body, hop, relay } = await joinSession(opts);
    const call = new CallClient(opts, body, hop, relay);
    try {
      await call.start();
      call.startTicks();
    } catch (err) {
      await call.abandon(); // no transport came up: leave no slot and no ticking half-joined client behind
      throw err instanceof XrelayClientError ? err : new XrelayClientError('network', `no cell transport came up: ${(err as Error).message}`, { cause: err });
    }
    call.releaseHeldEvents();
    return call;
  }

  /** Queues one media packet (e.g. a whole RTP packet); it leaves sealed and padded at the next tick. */
  send(packet: Uint8Array): void {
    if (this.closed || this.departing) return;
    if (packet.length > this.capacity) throw new RangeError(`packet of ${packet.length} bytes exceeds capacity ${this.capacity}`);
    if (this.queue.length >= (this.opts.sendQueue ?? 16)) {
      this.queue.shift();
      this.stats.sendQueueDrops++;
    }
    this.queue.push(packet);
  }

  /** Switches to a new call secret (handed out through envelopes to the remaining members). */
  rekey(callSecret: Uint8Array): void {
    this.oldKeys = this.keys;
    this.keys = new CallKeys(callSecret);
  }

  /** Tests: move to a new local UDP port mid-call, as a NAT rebinding would. */
  async rebindUdp(): Promise<void> {
    const t = this.transport;
    if (t?.rebind === undefined) throw new XrelayClientError('unsupported', 'not on UDP');
    await t.rebind();
  }

  /**
   * Sends what is still queued (one cell per tick, bounded by the queue), then tells the relay we
   * leave (in band, in the next cells) and stops. Packets given to send() before leave() are not
   * stranded; send() after leave() is ignored.
   */
  async leave(): Promise<void> {
    if (this.closed || this.departing) return;
    this.departing = true;
    const tick = this.answer.profile.tickMs;
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    for (let budget = this.queue.length + 2; this.queue.length > 0 && budget > 0 && !this.closed; budget--) await sleep(tick);
    this.leaving = 3;
    await sleep(tick * 3 + 5);
    await this.close();
  }

  /** Stops without telling the relay (it times the session out). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.transport?.close();
  }

  private get wsUrl(): string {
    return relayWsUrl(this.relay, this.answer.ws);
  }

  /**
   * Brings up the cell transport. 'auto': UDP where the platform has it and a local socket opens,
   * kept if a cell comes back within udpTimeoutMs; otherwise (no UDP here, the socket would not
   * open, no answer) the WebSocket. Never throws on UDP while the WebSocket is still to be tried.
   */
  private async start(): Promise<void> {
    const want = this.opts.transport ?? 'auto';
    const onCell = this.onCell;
    const wsUrl = this.wsUrl;
    if (want === 'ws' || (want === 'auto' && !hasUdp())) {
      this.transport = await openWs(wsUrl, onCell);
      return;
    }
    const target = this.opts.udpTarget ?? this.answer.udp;
    try {
      this.transport = await openUdp(target.host, target.port, onCell);
    } catch (err) {
      if (want === 'udp') throw err;
      this.transport = await openWs(wsUrl, onCell);
      return;
    }
    this.startTicks();
    if (want !== 'auto') return;
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), this.opts.udpTimeoutMs ?? 1500);
      this.gotCell = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
    this.gotCell = undefined;
    if (!ok && !this.closed) {
      const udp = this.transport;
      this.transport = await openWs(wsUrl, onCell);
      await udp.close();
    }
  }

  /** Starts the tick loop (once: it keeps running across a rejoin). */
  private startTicks(): void {
    if (this.timer !== undefined || this.closed) return;
    this.nextTick = performance.now();
    this.schedule();
  }

  /**
   * join() failed after the relay gave us a slot: tell it we leave, in band (three cells at once,
   * as leave() would over three ticks), then stop. Over whatever transport is up, or else over a
   * WebSocket opened just for that (UDP would not even open); if that fails too, the relay times
   * the session out.
   */
  private async abandon(): Promise<void> {
    if (this.transport === undefined && !this.closed) this.transport = await openWs(this.wsUrl, () => undefined).catch(() => undefined);
    if (this.transport !== undefined && !this.closed) {
      this.leaving = 3;
      for (let i = 0; i < 3; i++) this.emitCell();
    }
    await this.close();
  }

  /**
   * UDP went silent mid-call: carry the same session over the WebSocket. The relay moves its
   * downlink to wherever the latest accepted cell came from (PROTOCOL §3, roaming), and the hop
   * counters simply continue, so its anti-replay window keeps holding across the two paths.
   */
  private async failover(silentMs: number): Promise<void> {
    this.switching = true;
    let ws: CellTransport;
    try {
      ws = await openWs(this.wsUrl, this.onCell);
    } catch {
      this.switching = false;
      this.watch?.restart(performance.now()); // try again after another silent window
      return;
    }
    const heardAgain = (this.watch?.silentFor(performance.now()) ?? Infinity) < (this.watch?.silenceMs ?? 0);
    if (this.closed || heardAgain) {
      // UDP came back while the WebSocket opened (a pause, not a broken path): stay on UDP.
      this.switching = false;
      await ws.close();
      return;
    }
    const udp = this.transport;
    this.transport = ws;
    this.switching = false;
    this.stats.transportFailovers++;
    this.announce('transport', { from: 'udp', to: 'ws', reason: 'udp_silent', silentMs });
    await udp?.close();
  }

  /**
   * The relay went silent on every transport (its node died, or this client was cut off): join the
   * room again through the relay URL list, as a new session, until it works or rejoinTimeoutMs. In a
   * cluster the dead node's room lease lapses within cluster.leaseTtlMs and the join is then placed
   * on a live node; until then the join may be sent to the dead node and fail (`network`), retried
   * with a backoff of up to 1 s. Bound: rejoinSilenceMs + leaseTtlMs + about one retry and one join.
   */
  private async rejoin(silentMs: number): Promise<void> {
    this.rejoining = true;
    const started = performance.now();
    this.announce('reconnecting', { silentMs });
    const old = this.transport;
    this.transport = undefined;
    await old?.close();
    let backoff = 100;
    for (let attempts = 1; !this.closed && !this.departing; attempts++) {
      let code = 'network';
      try {
        const { answer, hop, relay } = await joinSession(this.opts);
        if (this.closed || this.departing) return;
        this.answer = answer;
        this.hopLink = hop;
        this.relayUrl = relay;
        this.epoch = answer.epoch;
        // A new room incarnation: its epochs start again, so its keys (epoch, slot) may have served
        // other senders before: fresh replay windows, and no roster until the relay sends one.
        this.inbox = new E2eInbox(this.stats);
        this.roster = [];
        await this.start();
        if (this.closed) return;
        this.rejoining = false;
        this.watch?.restart(performance.now());
        this.rejoinWatch.restart(performance.now());
        this.stats.rejoins++;
        this.announce('rejoined', { relay, session: answer.session, slot: answer.slot, silentMs, tookMs: Math.round(performance.now() - started), attempts });
        return;
      } catch (err) {
        code = err instanceof XrelayClientError ? err.code : 'network';
        const t = this.transport as CellTransport | undefined; // start() may have set it before failing
        this.transport = undefined;
        await t?.close();
      }
      if (performance.now() - started > (this.opts.rejoinTimeoutMs ?? 60_000)) {
        this.announce('closed', { reason: 'rejoin_failed', code });
        await this.close();
        return;
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 1_000);
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(this.nextTick - performance.now())));
  }

  private tick(): void {
    const now = performance.now();
    const tickMs = this.answer.profile.tickMs;
    if (now >= this.nextTick) {
      const behind = Math.floor((now - this.nextTick) / tickMs);
      this.stats.missedTicks += behind;
      this.nextTick += (behind + 1) * tickMs;
      this.emitCell();
    }
    if (this.transport?.kind === 'udp' && !this.switching && !this.rejoining && !this.departing && this.watch?.silent(now) === true) {
      void this.failover(Math.round(this.watch.silentFor(now)));
    }
    if (!this.rejoining && !this.departing && this.rejoinWatch.silent(now)) void this.rejoin(Math.round(this.rejoinWatch.silentFor(now)));
    this.schedule();
  }

  private emitCell(): void {
    if (this.transport === undefined) return; // rejoining: no session to send to
    const w = this.hop.begin();
    if (this.leaving > 0) {
      this.leaving--;
      w.add(CONTROL_SLOT, LEAVE);
    }
    const recLen = recordBytes(this.capacity);
    const kid = kidOf(this.epoch, this.slot);
    let media = 0;
    while (this.queue.length > 0 && w.fits(recLen)) {
      w.add(0, sealRecord(this.keys.sender(this.epoch, this.slot), kid, this.ctr++, this.queue.shift(), this.capacity));
      media++;
      this.stats.packetsSent++;
    }
    if (media === 0 && this.opts.e2ePadding === true && w.fits(recLen)) {
      if (this.padding.status.active) {
        w.add(0, sealRecord(this.keys.sender(this.epoch, this.slot), kid, this.ctr++, undefined, this.capacity));
        this.stats.dummiesSent++;
      } else if (this.padding.status.reason === 'room_exceeds_downlink') this.stats.dummiesWithheld++;
    }
    this.transport?.send(this.hop.seal());
  }

  private readonly onCell = (cell: Uint8Array): void => {
    if (!this.hop.open(cell, this.onRecord)) return;
    const now = performance.now();
    this.watch?.heard(now);
    this.rejoinWatch.heard(now);
    if (this.gotCell !== undefined) this.gotCell();
  };

  private readonly deliver = (frame: CallFrame): void => this.announce('frame', frame);

  private readonly onRecord = (slot: number, rec: Uint8Array): void => {
    if (slot === CONTROL_SLOT) {
      const roster = parseRoster(rec);
      if (roster !== undefined && roster.epoch >= this.epoch) {
        this.epoch = roster.epoch;
        this.roster = roster.slots;
        const wasActive = this.padding.status.active;
        const change = this.padding.onRoster(roster.slots.length);
        if (change !== undefined && wasActive && !change.active) this.stats.e2ePaddingSuspensions++;
        this.announce('roster', roster);
        if (change !== undefined) this.announce('e2ePadding', change);
      }
      return;
    }
    this.inbox.open(slot, rec, this.keys, this.oldKeys, this.deliver);
  };
}
const LEAVE = new Uint8Array([CONTROL_LEAVE]);
