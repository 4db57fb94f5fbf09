/** A browser-shaped SDP offer for the edge's layout (Chrome's line style), built per test. */
export interface FixtureOptions {
  slots?: number;
  video?: boolean;
  bundle?: boolean;
  rtcpMux?: boolean;
  audioCodec?: string;
  extensions?: string[];
}

const DEFAULT_EXT = ['urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'urn:ietf:params:rtp-hdrext:sdes:mid', 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'urn:3gpp:video-orientation'];

export function offerFixture(o: FixtureOptions = {}): string {
  const slots = o.slots ?? 2;
  const video = o.video ?? false;
  const ext = o.extensions ?? DEFAULT_EXT;
  const codec = o.audioCodec ?? 'opus/48000/2';
  const media: string[][] = [];
  let mid = 0;
  const rtp = (kind: 'audio' | 'video', dir: string): string[] => {
    const lines = [
      kind === 'audio' ? 'm=audio 9 UDP/TLS/RTP/SAVPF 111 0' : 'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      'a=ice-pwd:abcdefghijklmnopqrstuvwx',
      'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
      'a=setup:actpass',
      `a=mid:${mid++}`,
      ...ext.map((u, i) => `a=extmap:${i + 1} ${u}`),
      `a=${dir}`,
      ...(o.rtcpMux === false ? [] : ['a=rtcp-mux']),
      ...(kind === 'audio' ? [`a=rtpmap:111 ${codec}`, 'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=0', 'a=rtpmap:0 PCMU/8000'] : ['a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96']),
    ];
    return lines;
  };
  media.push(rtp('audio', 'sendonly'));
  if (video) media.push(rtp('video', 'sendonly'));
  for (let i = 0; i < slots; i++) media.push(rtp('audio', 'recvonly'));
  if (video) for (let i = 0; i < slots; i++) media.push(rtp('video', 'recvonly'));
  media.push(['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=mid:${mid++}`, 'a=sctp-port:5000']);
  const mids = Array.from({ length: mid }, (_, i) => String(i)).join(' ');
  const head = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...(o.bundle === false ? [] : [`a=group:BUNDLE ${mids}`]), 'a=msid-semantic: WMS'];
  return [...head, ...media.flat(), ''].join('\r\n');
}
