/**
 * The edge's codec and header-extension rules through the standard transceiver APIs (browser
 * only), before any SDP exists: `setCodecPreferences` (Opus; VP8 and RTX) and
 * `setHeaderExtensionsToNegotiate` (every extension outside src/wire/rtc-header-extensions.ts
 * 'stopped'). The SDK still munges the SDP (sdp-munge.ts) and checks the result, but with these
 * the browser's own offer already complies, so a browser that one day refuses munged local
 * descriptions still sends a clean offer. Where an API is missing this does nothing.
 */
import { isAllowedHeaderExtension } from '../../wire/rtc-header-extensions.js';
import { rtcGlobals, type RtpTransceiverLike } from './webrtc-dom.js';

interface CodecCapability {
  mimeType: string;
}

interface HeaderExtension {
  uri: string;
  direction: string;
}

interface TransceiverPrefs {
  setCodecPreferences?(codecs: CodecCapability[]): void;
  getHeaderExtensionsToNegotiate?(): HeaderExtension[];
  setHeaderExtensionsToNegotiate?(exts: HeaderExtension[]): void;
}

const KEEP = { audio: /^audio\/opus$/i, video: /^video\/(vp8|rtx)$/i };

/** Applies the edge's rules to one transceiver; returns which of the two APIs took. */
export function restrictToEdgeRules(transceiver: RtpTransceiverLike, kind: 'audio' | 'video'): { codecs: boolean; extensions: boolean } {
  const t = transceiver as RtpTransceiverLike & TransceiverPrefs;
  const done = { codecs: false, extensions: false };
  const caps = (rtcGlobals() as { RTCRtpReceiver?: { getCapabilities?(k: string): { codecs: CodecCapability[] } | null } }).RTCRtpReceiver?.getCapabilities?.(kind);
  if (caps && typeof t.setCodecPreferences === 'function') {
    const keep = caps.codecs.filter((c) => KEEP[kind].test(c.mimeType));
    try {
      t.setCodecPreferences(keep);
      done.codecs = true;
    } catch {
      // the SDP munging still applies
    }
  }
  if (typeof t.getHeaderExtensionsToNegotiate === 'function' && typeof t.setHeaderExtensionsToNegotiate === 'function') {
    try {
      t.setHeaderExtensionsToNegotiate(t.getHeaderExtensionsToNegotiate().map((e) => (isAllowedHeaderExtension(e.uri) || e.direction === 'stopped' ? e : { ...e, direction: 'stopped' })));
      done.extensions = true;
    } catch {
      // the SDP munging still applies
    }
  }
  return done;
}
