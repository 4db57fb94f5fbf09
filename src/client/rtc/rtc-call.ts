/**
 * RtcCall: one browser member of a room on the relay's WebRTC edge (issue 12; the rtc contract).
 *
 *   const call = await RtcCall.join({ relay: 'https://relay.example', callSecret, stream });
 *   call.on('member', (m) => { audioEl.srcObject = m.stream; });
 *   call.on('left', (m) => audioEl.remove());
 *   await call.leave();
 *
 * Join: transceivers in the contract's order (sendonly audio, [sendonly video], K recvonly audio,
 * [K recvonly video], the `xrelay` data channel), every sender sealed and every receiver opened
 * end to end (rtc-e2ee.ts), the offer munged (sdp-munge.ts) and checked, then `POST
 * /v1/rtc/rooms/{room}` (room id = the cell clients' hash of the call secret) with
 * `application/sdp`; the answer (munged the same way, so this browser's Opus encoder runs DTX off at
 * CBR 32 kbit/s whatever the relay echoed) is applied and join resolves once ICE/DTLS connect.
 * The relay's roster on `xrelay` maps receive slots to members (`member` / `left` events).
 * Cluster mode: the offer follows 409 room_elsewhere to the room's node (room-redirect.ts, at most
 * `maxRedirects`), through a list of relay URLs if given; `relay` is the node that answered (the
 * DELETE goes there). When that node goes, the connection fails and `closed` ('failed') is emitted:
 * no automatic rejoin (the app joins again).
 * Every failure is an XrelayClientError: the relay's code (`bad_sdp`, `room_full`, ...), `network`
 * without an answer, `timeout` when the connection does not come up, `unsupported` without
 * WebRTC or an encoded-transform API, `internal` for an answer that is not one.
 */
import { encodeBase64url } from '../../wire/b64url.js';
import { XrelayClientError, errorFromResponse, fetchRelay } from '../client-error.js';
import { checkCallSecret, roomIdOf } from '../call/e2e-keys.js';
import { TypedEmitter } from '../emitter.js';
import { ready } from '../ready.js';
import { relayHttpUrl } from '../relay-url.js';
import { DEFAULT_MAX_JOIN_REDIRECTS, followRoomElsewhere, throughRelays } from '../room-redirect.js';
import type { RtcE2eReport } from './e2ee-engine.js';
import { RtcE2ee, type RtcTransformMode } from './rtc-e2ee.js';
import { RtcMembers, type RtcMember } from './rtc-members.js';
import { isMovedNotice, parseRtcRoster, type RtcRoster } from './roster.js';
import { restrictToEdgeRules } from './edge-prefs.js';
import { SealWatch } from './seal-watch.js';
import { checkRtcOffer, mungeRtcSdp } from './sdp-munge.js';
import { rtcGlobals, type DataChannelLike, type MediaStreamLike, type MediaStreamTrackLike, type PeerConnectionLike, type RtpTransceiverLike } from './webrtc-dom.js';

export type RtcProfile = 'audio' | 'audio-room' | 'video';

export interface RtcJoinOptions {
  /**
   * Base URL of the relay's HTTP port (a path prefix is kept), or a list tried in order (a URL
   * without an answer, or answering `store_unavailable`, `node_draining`, `too_many_sessions`, hands
   * over to the next). Cluster mode: a node that does not hold the room answers 409
   * `room_elsewhere` naming the one that does; the offer is posted there (`maxRedirects`).
   */
  relay: string | readonly string[];
  /** Cluster mode: 409 room_elsewhere answers followed in a row; default 3. */
  maxRedirects?: number;
  /** The call secret (at least 16 random bytes), shared through envelopes; names the room and keys the media. */
  callSecret: Uint8Array;
  /** What to send: its first audio track (and, with `video`, its first video track). */
  stream?: MediaStreamLike;
  /** A video room (profile `video`): a sendonly video m-line and K video receive slots. */
  video?: boolean;
  /** Room profile; default `video` with `video: true`, else `audio`. Fixed by the room's first member. */
  profile?: RtcProfile;
  /** Receive slots K (others heard at once); default 7, 3 in video rooms. The relay uses at most its own cap. */
  slots?: number;
  /** Encoded-transform API: default 'auto' (RTCRtpScriptTransform, else createEncodedStreams). */
  transform?: RtcTransformMode | 'auto';
  /** The e2ee worker script (default: e2ee-worker.js beside this module, for bundlers that follow `new URL(..., import.meta.url)`). */
  workerUrl?: string | URL;
  /** ICE servers (e.g. the relay's TURN plane) for networks where UDP to the edge is blocked. */
  iceServers?: unknown[];
  /** How long ICE + DTLS may take after the answer; default 10 000 ms. */
  connectTimeoutMs?: number;
  /**
   * How often to check that every sent frame went through the sealing transform (seal-watch.ts);
   * on a bypass the call leaves at once and emits `closed` with 'e2e_bypassed'. Frames sent in
   * the meantime have left unsealed: at most about this long of media. Default 1000 ms; 0 = off.
   */
  sealCheckMs?: number;
}

export interface RtcCallEvents {
  /** A member appeared in the roster: its stream fills as its tracks arrive. */
  member: [RtcMember];
  /** A member left the roster (its stream is emptied). */
  left: [RtcMember];
  /** Every valid roster message, after `member` / `left`. */
  roster: [RtcRoster];
  /** The connection to the edge failed or closed ('failed', 'closed'), the call left because frames went out unsealed ('e2e_bypassed'), or (cluster mode) the room moved to another node and the relay ended this session ('room_moved': join again). */
  closed: [string];
}

export interface RtcCallStats {
  /** Roster messages that did not parse (ignored). */
  rosterRejected: number;
  rosters: number;
  /** Checks that found frames sent without passing the sealing transform (the call then left). */
  e2eBypassed: number;
}

const MAX_SLOTS = 16;

export class RtcCall extends TypedEmitter<RtcCallEvents> {
  readonly stats: RtcCallStats = { rosterRejected: 0, rosters: 0, e2eBypassed: 0 };
  readonly members: RtcMembers;
  /** The roster epoch last applied (-1 before the first). */
  epoch = -1;
  private left = false;
  /** Events raised while join() ran (the roster often arrives first), delivered just after it resolves. */
  private sealTimer: ReturnType<typeof setInterval> | undefined;
  private readonly sealWatch = new SealWatch();
  private checking = false;

  private constructor(
    readonly pc: PeerConnectionLike,
    readonly e2ee: RtcE2ee,
    /** Base URL of the node serving the call (the one that answered the offer; the DELETE goes there). */
    readonly relay: string,
    /** `Location` of the session (DELETE leaves). */
    readonly location: string,
    private readonly slotsByMid: Map<string, RecvSlot>,
  ) {
    super();
    this.holdEvents(); // until join() has returned the call to its caller
    this.members = new RtcMembers((mid) => this.slotsByMid.get(mid)?.transceiver.receiver.track);
  }

  /** Joins the room of `callSecret` on the relay's edge; resolves once media can flow. */
  static async join(opts: RtcJoinOptions): Promise<RtcCall> {
    checkCallSecret(opts.callSecret);
    await ready();
    const g = rtcGlobals();
    if (g.RTCPeerConnection === undefined) throw new XrelayClientError('unsupported', 'this platform has no RTCPeerConnection');
    const video = opts.video ?? opts.profile === 'video';
    const profile = opts.profile ?? (video ? 'video' : 'audio');
    const k = Math.max(1, Math.min(MAX_SLOTS, Math.floor(opts.slots ?? (video ? 3 : 7))));
    const e2ee = await RtcE2ee.create({ callSecret: opts.callSecret, transform: opts.transform ?? 'auto', ...(opts.workerUrl ? { workerUrl: opts.workerUrl } : {}) });
    const pc = new g.RTCPeerConnection({ iceServers: opts.iceServers ?? [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', ...e2ee.peerConfig });
    try {
      const recv = buildTransceivers(pc, e2ee, opts.stream, video, k);
      const channel = pc.createDataChannel('xrelay', { ordered: true });
      const offer = await localOffer(pc, video, k);
      const slots = new Map(recv.map((s) => [s.transceiver.mid ?? '', s]));
      const { answer, location, relay } = await postOffer(opts.relay, opts.maxRedirects ?? DEFAULT_MAX_JOIN_REDIRECTS, opts.callSecret, profile, offer);
      const call = new RtcCall(pc, e2ee, relay, location, slots);
      call.listen(channel);
      pc.ondatachannel = (ev) => {
        if (ev.channel.label === 'xrelay') call.listen(ev.channel);
      };
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: mungeRtcSdp(answer) });
      } catch (err) {
        await call.leave();
        throw new XrelayClientError('internal', `the relay's answer does not apply: ${(err as Error).message}`, { cause: err });
      }
      await call.connected(opts.connectTimeoutMs ?? 10_000);
      const every = opts.sealCheckMs ?? 1000;
      if (every > 0) call.sealTimer = setInterval(() => void call.checkSealing(), every);
      call.releaseHeldEvents();
      return call;
    } catch (err) {
      pc.close();
      e2ee.close();
      throw err;
    }
  }

  private listen(ch: DataChannelLike): void {
    ch.onmessage = (ev) => {
      if (isMovedNotice(ev.data)) return this.movedAway();
      const roster = parseRtcRoster(ev.data);
      if (roster === undefined || roster.epoch < this.epoch) {
        this.stats.rosterRejected++;
        return;
      }
      this.epoch = roster.epoch;
      this.stats.rosters++;
      const change = this.members.apply(roster);
      for (const m of change.left) this.announce('left', m);
      for (const m of change.joined) this.announce('member', m);
      this.announce('roster', roster);
    };
  }

  private async connected(timeoutMs: number): Promise<void> {
    const pc = this.pc;
    const state = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), timeoutMs);
      const check = (): void => {
        if (pc.connectionState === 'connected' || pc.connectionState === 'failed' || pc.connectionState === 'closed') {
          clearTimeout(t);
          resolve(pc.connectionState);
        }
      };
      pc.onconnectionstatechange = check;
      check();
    });
    if (state !== 'connected') {
      await this.leave();
      throw new XrelayClientError(state === 'timeout' ? 'timeout' : 'network', `no media connection to the relay's edge (${state})`);
    }
    pc.onconnectionstatechange = () => {
      if (!this.left && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) this.announce('closed', pc.connectionState);
    };
  }

  /** Fails closed when the browser sent frames the transform never sealed (seal-watch.ts). */
  private async checkSealing(): Promise<void> {
    if (this.checking) return; // a slow worker answer: never two checks at once
    this.checking = true;
    try {
      await this.checkSealingOnce();
    } finally {
      this.checking = false;
    }
  }

  private async checkSealingOnce(): Promise<void> {
    // What was sent first, then what was sealed: a frame is sealed before it is sent, so sealed
    // read later is never below sent read earlier, however long either read takes. (The other
    // order let a slow getStats on a loaded machine count frames sent after the sealed count was
    // read, and a sound call left as 'e2e_bypassed'.)
    const sent = { audio: 0, video: 0 };
    (await this.pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp') return;
      if (s.kind === 'audio') sent.audio += Number(s.packetsSent ?? 0);
      if (s.kind === 'video') sent.video += Number(s.framesSent ?? 0);
    });
    const report = await this.e2ee.report();
    if (report === undefined || this.left) return;
    const bad = this.sealWatch.check({ audio: { sealed: report.send.audio.sealed, sent: sent.audio }, video: { sealed: report.send.video.sealed, sent: sent.video } });
    if (bad.length === 0 || this.left) return;
    this.stats.e2eBypassed++;
    this.announce('closed', 'e2e_bypassed');
    await this.leave();
  }

  /** Counters of the end-to-end layer (sealed, opened, refused, oversize) per direction and kind. */
  e2eStats(): Promise<RtcE2eReport | undefined> {
    return this.e2ee.report();
  }

  /** Rotates the call secret (new sender KIDs; frames under the old one still open). */
  rekey(callSecret: Uint8Array): void {
    this.e2ee.rekey(callSecret);
  }

  /** Leaves: DELETE the session (best effort), close the connection and the worker. Idempotent. */
  /** Cluster mode: the room's lease went to another node and the relay ended this session; the app joins again (the relay list leads there). */
  private movedAway(): void {
    if (this.left) return;
    this.left = true;
    if (this.sealTimer !== undefined) clearInterval(this.sealTimer);
    this.pc.close();
    this.e2ee.close();
    this.announce('closed', 'room_moved');
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    if (this.sealTimer !== undefined) clearInterval(this.sealTimer);
    try {
      await fetchRelay(relayHttpUrl(this.relay, this.location), { method: 'DELETE' }, 'leave');
    } catch {
      // The relay also drops the session when ICE consent stops (RFC 7675).
    }
    this.pc.close();
    this.e2ee.close();
  }
}

interface RecvSlot {
  kind: 'audio' | 'video';
  transceiver: RtpTransceiverLike;
}

/**
 * Transceivers in the contract's order, each with its transform attached before any frame can
 * flow; returns the receive slots (their mids exist once the offer is set). Receivers are named
 * `audio-0`, `video-2`, ... in the e2e report. Without a microphone the audio m-line has no track
 * and sends nothing (such a member stands out by its silence on the wire: give it a silent track).
 */
function buildTransceivers(pc: PeerConnectionLike, e2ee: RtcE2ee, stream: MediaStreamLike | undefined, video: boolean, k: number): RecvSlot[] {
  const add = (trackOrKind: MediaStreamTrackLike | 'audio' | 'video', kind: 'audio' | 'video', direction: string): RtpTransceiverLike => {
    const t = pc.addTransceiver(trackOrKind, { direction });
    restrictToEdgeRules(t, kind);
    return t;
  };
  const mic = stream?.getAudioTracks()[0];
  e2ee.attachSender(add(mic ?? 'audio', 'audio', 'sendonly').sender, 'audio', 'audio');
  if (video) e2ee.attachSender(add(stream?.getVideoTracks()[0] ?? 'video', 'video', 'sendonly').sender, 'video', 'video');
  const recv: RecvSlot[] = [];
  for (const kind of video ? (['audio', 'video'] as const) : (['audio'] as const)) {
    for (let i = 0; i < k; i++) recv.push({ kind, transceiver: add(kind, kind, 'recvonly') });
  }
  recv.forEach((s, i) => e2ee.attachReceiver(s.transceiver.receiver, s.kind, `${s.kind}-${i % k}`));
  return recv;
}

async function localOffer(pc: PeerConnectionLike, video: boolean, k: number): Promise<string> {
  const offer = await pc.createOffer();
  try {
    await pc.setLocalDescription({ type: 'offer', sdp: mungeRtcSdp(offer.sdp) });
  } catch {
    // A browser that refuses munged local descriptions: its own offer (already restricted by
    // edge-prefs.ts) goes in, and the munged text is what the relay gets (checked below).
    await pc.setLocalDescription(offer);
  }
  // The edge is ICE-lite and learns our address from our checks; candidates in the offer are a
  // courtesy, so gathering gets a short bound.
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      };
    });
  }
  const sdp = mungeRtcSdp(pc.localDescription!.sdp);
  const problems = checkRtcOffer(sdp, { video, slots: k });
  if (problems.length > 0) throw new XrelayClientError('unsupported', `this browser's offer breaks the edge's rules: ${problems.join('; ')}`);
  return sdp;
}

/** The offer through the relay list, following room_elsewhere (room-redirect.ts); the answer, its Location and the node that gave them. */
async function postOffer(relays: string | readonly string[], maxRedirects: number, secret: Uint8Array, profile: RtcProfile, sdp: string): Promise<{ answer: string; location: string; relay: string }> {
  const room = encodeBase64url(roomIdOf(secret));
  const send = (relay: string): Promise<Response> => fetchRelay(relayHttpUrl(relay, `v1/rtc/rooms/${room}?profile=${profile}`), { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp }, 'rtc join');
  return throughRelays(relays, async (first) => {
    const { res, relay } = await followRoomElsewhere(first, maxRedirects, send, 'rtc join refused');
    if (!res.ok) throw await errorFromResponse(res, 'rtc join refused');
    const location = res.headers.get('location');
    const answer = await res.text().catch(() => '');
    if (res.status !== 201 || location === null || !location.startsWith('/') || !answer.startsWith('v=0')) {
      throw new XrelayClientError('internal', 'the answer is not an SDP answer with a session Location', { status: res.status });
    }
    return { answer, location, relay };
  });
}
