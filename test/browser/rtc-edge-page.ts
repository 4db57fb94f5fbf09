/**
 * Page-side code for the WebRTC edge browser tests: a plain RTCPeerConnection built as the
 * contract says (uplink sendonly first, K recvonly slots per kind, one data channel, BUNDLE,
 * rtcp-mux), fake devices, the offer POSTed to the edge; getStats read back per receive slot.
 * No SDK and no end-to-end layer here (the SDK side adds them).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- runs in the browser */
declare const window: any;
declare const navigator: any;
declare const RTCPeerConnection: any;
declare const document: any;

export const RTC_PAGE = '<!doctype html><meta charset="utf-8"><title>xrelay rtc</title><link rel="icon" href="data:,"><body></body>';

/** Chromium flags: fake camera and microphone without a prompt; loopback host candidates. */
export const RTC_CHROMIUM_ARGS = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'];

export async function joinEdge({ relayUrl, room, profile, slots }: { relayUrl: string; room: string; profile: string; slots: number }): Promise<{ status: number; location: string; answer: string; offer: string }> {
  const video = profile === 'video';
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  window.pc = pc;
  window.rosters = [];
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: video ? { width: 320, height: 240, frameRate: 15 } : false });
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly' });
  if (video) pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly' });
  for (let i = 0; i < slots; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
  if (video) for (let i = 0; i < slots; i++) pc.addTransceiver('video', { direction: 'recvonly' });
  pc.createDataChannel('client');
  // Chromium decodes received audio only for a sink that plays it: one muted-volume element per slot.
  pc.ontrack = (e: any) => {
    if (e.track.kind !== 'audio') return;
    const el = document.createElement('audio');
    el.srcObject = new window.MediaStream([e.track]);
    el.volume = 0;
    document.body.appendChild(el);
    void el.play();
  };
  pc.ondatachannel = (e: any) => {
    if (e.channel.label === 'xrelay') e.channel.onmessage = (m: any) => window.rosters.push(JSON.parse(m.data));
  };
  const offer = await pc.createOffer();
  // The SDK removes the audio-level extension before sending (contract); this page does too.
  const sdp = offer.sdp.split('\r\n').filter((l: string) => !l.includes('urn:ietf:params:rtp-hdrext:ssrc-audio-level')).join('\r\n');
  await pc.setLocalDescription({ type: 'offer', sdp });
  const res = await fetch(`${relayUrl}/v1/rtc/rooms/${room}?profile=${profile}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp });
  const answer = await res.text();
  if (res.status !== 201) return { status: res.status, location: '', answer, offer: sdp };
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return { status: res.status, location: res.headers.get('location') ?? '', answer, offer: sdp };
}

export interface SlotStats {
  mid: string;
  kind: string;
  packetsReceived: number;
  framesDecoded: number;
  keyFramesDecoded: number;
  concealedSamples: number;
  /** Audio samples the decoder produced (decoded plus concealed): > 0 means the browser decodes the slot. */
  samplesDecoded: number;
}

/** Per receive slot (mid): what the browser received and decoded; plus its uplink's PLI count. */
export async function edgeStats(): Promise<{ state: string; slots: SlotStats[]; pliReceived: number; rosters: any[]; availableOutgoingBitrate: number; videoTargetBitrate: number; videoBytesSent: number }> {
  const pc = window.pc;
  const report = await pc.getStats();
  const slots: SlotStats[] = [];
  let pliReceived = 0;
  let availableOutgoingBitrate = 0;
  let videoTargetBitrate = 0;
  let videoBytesSent = 0;
  report.forEach((s: any) => {
    if (s.type === 'inbound-rtp') {
      slots.push({ mid: s.mid, kind: s.kind, packetsReceived: s.packetsReceived ?? 0, framesDecoded: s.framesDecoded ?? 0, keyFramesDecoded: s.keyFramesDecoded ?? 0, concealedSamples: s.concealedSamples ?? 0, samplesDecoded: s.totalSamplesReceived ?? 0 });
    }
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      pliReceived += s.pliCount ?? 0;
      videoTargetBitrate = s.targetBitrate ?? 0;
      videoBytesSent = s.bytesSent ?? 0;
    }
    if (s.type === 'candidate-pair' && s.nominated) availableOutgoingBitrate = s.availableOutgoingBitrate ?? 0;
  });
  return { state: pc.connectionState, slots, pliReceived, rosters: window.rosters, availableOutgoingBitrate, videoTargetBitrate, videoBytesSent };
}
