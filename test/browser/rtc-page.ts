/**
 * Page side of the RTC E2EE browser tests, bundled with the SDK by esbuild into the page's sdk.js
 * (so `new URL('./e2ee-worker.js', import.meta.url)` finds the worker beside it). Two
 * RTCPeerConnections in one page, signalled directly (no relay yet): A sends, B receives, each
 * with its own RtcE2ee. Candidates are filtered to 127.0.0.1 (Chromium runs with
 * --allow-loopback-in-peer-connection), so no packet leaves loopback.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- DOM objects, untyped here (the project builds without lib dom) */
import * as sdk from '../../src/client/browser.js';

const w = window as any;

async function gathered(pc: any): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      });
    });
  }
  return pc.localDescription.sdp;
}

/** Only 127.0.0.1 candidates (no traffic to any other address). */
function loopbackOnly(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || / 127\.0\.0\.1 /.test(l))
    .join('\r\n');
}

export interface PairOptions {
  secretA: number[];
  secretB: number[];
  mode: 'script' | 'encoded-streams';
  video: boolean;
  /** A second audio sender on A carrying the same microphone with track.enabled = false. */
  silentToo: boolean;
  /** B without any transform (sees sealed frames raw). */
  bPlain?: boolean;
  /** Control: A's encoder without `cbr=1` (VBR at 32 kbit/s), to show what the pad is for. */
  vbr?: boolean;
}

export async function rtcPair(o: PairOptions): Promise<{ offer: string; answer: string; modeA: string }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: o.video ? { width: 320, height: 240 } : false });
  const e2eA = await sdk.RtcE2ee.create({ callSecret: new Uint8Array(o.secretA), transform: o.mode });
  const e2eB = o.bPlain ? undefined : await sdk.RtcE2ee.create({ callSecret: new Uint8Array(o.secretB), transform: o.mode });
  const a = new RTCPeerConnection({ ...e2eA.peerConfig } as any);
  const b = new RTCPeerConnection({ ...(e2eB?.peerConfig ?? {}) } as any);
  const mic = stream.getAudioTracks()[0]!;
  e2eA.attachSender(a.addTransceiver(mic, { direction: 'sendonly' }).sender as any, 'audio', 'speaking');
  if (o.silentToo) {
    const silent = mic.clone();
    silent.enabled = false;
    e2eA.attachSender(a.addTransceiver(silent, { direction: 'sendonly' }).sender as any, 'audio', 'silent');
  }
  if (o.video) e2eA.attachSender(a.addTransceiver(stream.getVideoTracks()[0]!, { direction: 'sendonly' }).sender as any, 'video', 'video');
  const localOffer = sdk.mungeRtcSdp((await a.createOffer()).sdp!);
  await a.setLocalDescription({ type: 'offer', sdp: localOffer });
  const offer = loopbackOnly(await gathered(a));
  await b.setRemoteDescription({ type: 'offer', sdp: offer });
  for (const t of b.getTransceivers()) e2eB?.attachReceiver(t.receiver as any, t.receiver.track.kind as 'audio' | 'video', t.mid!);
  const rawAnswer = (await b.createAnswer()).sdp!;
  await b.setLocalDescription({ type: 'answer', sdp: sdk.mungeRtcSdp(rawAnswer) });
  const answer = loopbackOnly(await gathered(b));
  const applied = sdk.mungeRtcSdp(answer);
  // (Chromium sorts fmtp parameters in a local description: cbr=1 may come first.)
  await a.setRemoteDescription({ type: 'answer', sdp: o.vbr ? applied.replace(/(?<=[ ;])cbr=1;?/g, '') : applied });
  // Play what B receives (decoding of audio is driven by a sink in Chromium).
  for (const t of b.getTransceivers()) {
    const el = document.createElement(t.receiver.track.kind === 'video' ? 'video' : 'audio') as HTMLMediaElement;
    // Unmuted: Chromium measures a received track's audio energy after the element's volume.
    el.autoplay = true;
    el.srcObject = new MediaStream([t.receiver.track]);
    document.body.append(el);
    void el.play().catch(() => undefined);
  }
  w.pair = { a, b, e2eA, e2eB };
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 10_000);
    const check = (): void => {
      if (a.connectionState === 'connected' && b.connectionState === 'connected') {
        clearTimeout(t);
        resolve();
      }
    };
    a.addEventListener('connectionstatechange', check);
    check();
  });
  return { offer, answer, modeA: e2eA.mode, state: a.connectionState };
}

/** What each side counted: getStats of A (outbound) and B (inbound), and both e2e reports. */
export async function rtcPairStats(): Promise<unknown> {
  const { a, b, e2eA, e2eB } = w.pair;
  const pick = async (pc: any, type: string): Promise<any[]> => {
    const out: any[] = [];
    (await pc.getStats()).forEach((s: any) => {
      if (s.type === type) out.push(s);
    });
    return out;
  };
  return { src: await pick(a, 'media-source'), out: await pick(a, 'outbound-rtp'), in: await pick(b, 'inbound-rtp'), e2eA: await e2eA.report(), e2eB: await e2eB?.report(), state: [a.connectionState, b.connectionState] };
}

// ---- RtcCall against a stand-in for the edge (the relay side is another branch) ----

/** Client page: RtcCall.join with the fake microphone; events logged on window.callLog. */
export async function rtcJoin(o: { relay: string | string[]; secret: number[]; slots: number; transform?: string; video?: boolean }): Promise<{ ok: boolean; code?: string; status?: number }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: o.video ? { width: 320, height: 240 } : false });
  w.callLog = [];
  w.rosters = [];
  try {
    const call = await sdk.RtcCall.join({ relay: o.relay, callSecret: new Uint8Array(o.secret), stream: stream as any, slots: o.slots, video: o.video === true, ...(o.transform ? { transform: o.transform as any } : {}) });
    w.call = call;
    call.on('member', (m: any) => {
      w.callLog.push(['member', m.tag, m.mids, m.stream.getAudioTracks().length, m.stream.getVideoTracks().length]);
      const el = document.createElement(m.stream.getVideoTracks().length > 0 ? 'video' : 'audio');
      el.autoplay = true;
      el.srcObject = m.stream;
      document.body.append(el);
      void el.play().catch(() => undefined);
    });
    call.on('left', (m: any) => w.callLog.push(['left', m.tag, m.stream.getTracks().length]));
    call.on('roster', (r: any) => w.rosters.push(r));
    call.on('closed', (why: string) => w.callLog.push(['closed', why]));
    return { ok: true };
  } catch (e: any) {
    return { ok: false, code: e?.code, status: e?.status };
  }
}

/**
 * Stand-in page: answers an offer the way the contract says the edge does for a room with one
 * other member: receives the client's uplink (opened with the call secret), sends its own sealed
 * microphone on the client's first audio receive slot, and announces it on `xrelay`.
 */
/**
 * Chromium 156, answerer side (senders of transceivers made by setRemoteDescription): an
 * RTCRtpScriptTransform on a video sender was bypassed (frames went out unsealed; set again after
 * the answer too), and on an audio sender only took when set before replaceTrack. The stand-in
 * therefore uses createEncodedStreams, which takes in both cases. RtcCall is always the offerer
 * and attaches at addTransceiver time, where both APIs work (rtc-e2ee-media / -call tests).
 */
const STAND_IN_TRANSFORM = 'encoded-streams';

export async function standIn(o: { offer: string; secret: number[] }): Promise<string> {
  const ts0 = o.offer.split('\r\n').filter((l) => l.startsWith('m='));
  const video = ts0[1]?.startsWith('m=video') === true;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: video ? { width: 320, height: 240 } : false });
  const e2ee = await sdk.RtcE2ee.create({ callSecret: new Uint8Array(o.secret), transform: STAND_IN_TRANSFORM });
  const pc = new RTCPeerConnection({ ...e2ee.peerConfig } as any);
  await pc.setRemoteDescription({ type: 'offer', sdp: loopbackOnly(o.offer) });
  const ts = pc.getTransceivers();
  // The client's uplinks come first (audio, then video in a video room), then its receive slots.
  e2ee.attachReceiver(ts[0]!.receiver as any, 'audio', 'uplink-audio');
  if (video) e2ee.attachReceiver(ts[1]!.receiver as any, 'video', 'uplink-video');
  const slots = video ? [ts[2]!, ts.find((t, i) => i > 2 && t.receiver.track.kind === 'video')!] : [ts[1]!];
  for (const slot of slots) {
    const kind = slot.receiver.track.kind as 'audio' | 'video';
    e2ee.attachSender(slot.sender as any, kind, `member-${kind}`);
    slot.direction = 'sendonly';
    await slot.sender.replaceTrack(kind === 'audio' ? stream.getAudioTracks()[0]! : stream.getVideoTracks()[0]!);
  }
  const roster = (epoch: number, list: unknown[]): string => JSON.stringify({ type: 'slots', epoch, slots: list });
  pc.ondatachannel = (ev) => {
    const ch = ev.channel;
    const hello = (): void => {
      ch.send('not json'); // counted and ignored by the client
      ch.send(roster(1, slots.map((t) => ({ mid: t.mid, member: 'mOne-1', kind: t.receiver.track.kind }))));
    };
    if (ch.readyState === 'open') hello();
    else ch.onopen = hello;
    w.standInLeave = () => ch.send(roster(2, []));
  };
  await pc.setLocalDescription({ type: 'answer', sdp: sdk.mungeRtcSdp((await pc.createAnswer()).sdp!) });
  w.standIn = { pc, e2ee };
  return loopbackOnly(await gathered(pc));
}

w.rtcSdk = sdk; // (window.sdk is this module itself: the harness page imports sdk.js as a namespace)
w.rtcJoin = rtcJoin;
w.standInAnswer = standIn;
w.rtcPair = rtcPair;
w.rtcPairStats = rtcPairStats;
w.sdkLoaded = true;
