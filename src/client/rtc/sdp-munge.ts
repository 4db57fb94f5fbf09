/**
 * SDP (RFC 8866) munging and checking for the WebRTC edge's offer (docs/RTC-E2EE.md, the
 * rtc contract). Pure string work, portable (Node tests use it on recorded offers).
 *
 * What `mungeRtcSdp` does to every media section, offer or answer alike:
 *   - header extensions (RFC 8285 `a=extmap`): only src/wire/rtc-header-extensions.ts's allow-list
 *     stays (mid, transport-wide cc, abs-send-time); audio level and the rest go;
 *   - audio: Opus only (RED, G.722, PCMU/A, CN, telephone-event go: RED would wrap our records,
 *     CN is DTX's comfort noise, DTMF events bypass the encoder), and its fmtp (RFC 7587 §6.1)
 *     gets `usedtx=0;cbr=1;maxaveragebitrate=32000;stereo=0`: in the offer that is what this
 *     browser asks others to send, in the answer it applies to this browser's own encoder;
 *   - video: VP8 and its RTX (RFC 4588, `apt=`) only.
 * It never reorders or adds m-lines: the order comes from the transceivers (RtcCall adds them in
 * the contract's order) and `checkRtcOffer` verifies it.
 */
import { isAllowedHeaderExtension } from '../../wire/rtc-header-extensions.js';
import { OPUS_BITRATE } from './frame-policy.js';

const CRLF = '\r\n';

interface Section {
  lines: string[];
}

function split(sdp: string): { session: string[]; media: Section[] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const media: Section[] = [];
  for (const l of lines) {
    if (l.startsWith('m=')) media.push({ lines: [l] });
    else if (media.length === 0) session.push(l);
    else media[media.length - 1]!.lines.push(l);
  }
  return { session, media };
}

function join(session: string[], media: Section[]): string {
  return [...session, ...media.flatMap((m) => m.lines)].join(CRLF) + CRLF;
}

function kindOf(s: Section): string {
  return s.lines[0]!.slice(2).split(' ')[0]!;
}

/** Payload type -> lower-case encoding name of one media section. */
function rtpmaps(s: Section): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of s.lines) {
    const r = /^a=rtpmap:(\d+) ([^/]+)/.exec(l);
    if (r) m.set(r[1]!, r[2]!.toLowerCase());
  }
  return m;
}

/** Payload types to keep: Opus for audio; VP8 and RTX pointing at VP8 for video. */
function keptPayloadTypes(s: Section): Set<string> | undefined {
  const kind = kindOf(s);
  const maps = rtpmaps(s);
  const keep = new Set<string>();
  if (kind === 'audio') {
    for (const [pt, name] of maps) if (name === 'opus') keep.add(pt);
  } else if (kind === 'video') {
    for (const [pt, name] of maps) if (name === 'vp8') keep.add(pt);
    for (const l of s.lines) {
      const r = /^a=fmtp:(\d+) apt=(\d+)$/.exec(l);
      if (r && maps.get(r[1]!) === 'rtx' && keep.has(r[2]!)) keep.add(r[1]!);
    }
  } else return undefined;
  return keep;
}

const PT_LINE = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/;

function setOpusFmtp(line: string): string {
  const [head, params = ''] = line.split(/ (.*)/s) as [string, string?];
  const kv = new Map<string, string>();
  for (const p of params.split(';')) {
    const [k, v] = p.split('=');
    if (k && k.trim()) kv.set(k.trim(), (v ?? '').trim());
  }
  kv.set('usedtx', '0');
  kv.set('cbr', '1');
  kv.set('maxaveragebitrate', String(OPUS_BITRATE));
  kv.set('stereo', '0');
  return `${head} ${[...kv].map(([k, v]) => `${k}=${v}`).join(';')}`;
}

function mungeSection(s: Section): void {
  const keep = keptPayloadTypes(s);
  const opus = kindOf(s) === 'audio' ? keep : undefined;
  const out: string[] = [];
  const opusFmtp = new Set<string>();
  for (const l of s.lines) {
    const ext = /^a=extmap:\d+(?:\/\w+)? (\S+)/.exec(l);
    if (ext && !isAllowedHeaderExtension(ext[1]!)) continue;
    const pt = PT_LINE.exec(l);
    if (keep && pt && !keep.has(pt[1]!)) continue;
    if (opus && pt && l.startsWith('a=fmtp:')) {
      opusFmtp.add(pt[1]!);
      out.push(setOpusFmtp(l));
      continue;
    }
    out.push(l);
  }
  if (keep) {
    const m = out[0]!.split(' ');
    out[0] = [...m.slice(0, 3), ...m.slice(3).filter((p) => keep.has(p))].join(' ');
  }
  // An Opus payload type without fmtp gets one (after its rtpmap).
  for (const pt of opus ?? []) {
    if (opusFmtp.has(pt)) continue;
    const i = out.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
    out.splice(i + 1, 0, setOpusFmtp(`a=fmtp:${pt} minptime=10;useinbandfec=1`));
  }
  s.lines = out;
}

/** The SDP with the edge's codec, fmtp and header-extension rules applied (see above). */
export function mungeRtcSdp(sdp: string): string {
  const { session, media } = split(sdp);
  for (const s of media) mungeSection(s);
  return join(session, media);
}

/** Header-extension URIs of `sdp` outside the allow-list (empty when clean). */
export function forbiddenExtensionsIn(sdp: string): string[] {
  const bad: string[] = [];
  for (const m of sdp.matchAll(/^a=extmap:\d+(?:\/\w+)? (\S+)/gm)) if (!isAllowedHeaderExtension(m[1]!)) bad.push(m[1]!);
  return bad;
}

/** Opus fmtp parameters of every audio section (one map per Opus payload type). */
export function opusParamsIn(sdp: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const s of split(sdp).media) {
    if (kindOf(s) !== 'audio') continue;
    for (const [pt, name] of rtpmaps(s)) {
      if (name !== 'opus') continue;
      const line = s.lines.find((l) => l.startsWith(`a=fmtp:${pt} `)) ?? '';
      out.push(Object.fromEntries(line.slice(line.indexOf(' ') + 1).split(';').filter(Boolean).map((p) => p.split('=') as [string, string])));
    }
  }
  return out;
}

export interface RtcSdpSection {
  kind: string;
  mid: string;
  direction: string;
  codecs: string[];
}

/** The media sections of `sdp` in order: kind, mid, direction, codec names. */
export function rtcSections(sdp: string): RtcSdpSection[] {
  return split(sdp).media.map((s) => {
    const attr = (name: string): string | undefined => s.lines.find((l) => l.startsWith(`a=${name}`))?.slice(name.length + 2);
    const direction = s.lines.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))?.slice(2) ?? 'sendrecv';
    return { kind: kindOf(s), mid: attr('mid:') ?? '', direction, codecs: [...new Set(rtpmaps(s).values())] };
  });
}

/**
 * Problems of an offer against the contract (empty when it holds): BUNDLE over every m-line,
 * rtcp-mux on every RTP m-line, order sendonly audio, [sendonly video], K recvonly audio,
 * [K recvonly video], one application m-line; Opus with usedtx=0 and no forbidden extension.
 */
export function checkRtcOffer(sdp: string, opts: { video: boolean; slots: number }): string[] {
  const problems: string[] = [];
  const { session, media } = split(sdp);
  const secs = rtcSections(sdp);
  const bundle = session.find((l) => l.startsWith('a=group:BUNDLE '))?.split(' ').slice(1) ?? [];
  if (bundle.length !== secs.length || secs.some((s) => !bundle.includes(s.mid))) problems.push('BUNDLE does not cover every m-line');
  media.forEach((s, i) => {
    if (kindOf(s) !== 'application' && !s.lines.includes('a=rtcp-mux')) problems.push(`m-line ${i} lacks rtcp-mux`);
  });
  const want = [
    'audio/sendonly',
    ...(opts.video ? ['video/sendonly'] : []),
    ...Array<string>(opts.slots).fill('audio/recvonly'),
    ...(opts.video ? Array<string>(opts.slots).fill('video/recvonly') : []),
    'application/',
  ];
  const got = secs.map((s) => `${s.kind}/${s.kind === 'application' ? '' : s.direction}`);
  if (got.join(',') !== want.join(',')) problems.push(`m-line order ${got.join(',')} is not ${want.join(',')}`);
  if (opusParamsIn(sdp).some((p) => p.usedtx !== '0')) problems.push('Opus without usedtx=0');
  if (forbiddenExtensionsIn(sdp).length > 0) problems.push(`forbidden header extensions: ${forbiddenExtensionsIn(sdp).join(' ')}`);
  return problems;
}
