/**
 * The WebRTC and worker shapes the SDK uses, declared here: the SDK builds without the DOM library
 * and its public types need none (as runtime-web.ts does for WebSocket). Structural subsets of the
 * DOM's types, so an app passes its own MediaStream / RTCPeerConnection objects unchanged.
 */

export interface MediaStreamTrackLike {
  readonly kind: string;
  readonly id: string;
  enabled: boolean;
  stop(): void;
}

export interface MediaStreamLike {
  readonly id: string;
  getTracks(): MediaStreamTrackLike[];
  getAudioTracks(): MediaStreamTrackLike[];
  getVideoTracks(): MediaStreamTrackLike[];
  addTrack(track: MediaStreamTrackLike): void;
  removeTrack(track: MediaStreamTrackLike): void;
}

export interface EncodedStreams {
  readable: ReadableStream;
  writable: WritableStream;
}

export interface RtpSenderLike {
  readonly track: MediaStreamTrackLike | null;
  transform?: unknown;
  createEncodedStreams?(): EncodedStreams;
}

export interface RtpReceiverLike {
  readonly track: MediaStreamTrackLike;
  transform?: unknown;
  createEncodedStreams?(): EncodedStreams;
}

export interface RtpTransceiverLike {
  readonly mid: string | null;
  readonly sender: RtpSenderLike;
  readonly receiver: RtpReceiverLike;
  direction: string;
}

export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  close(): void;
}

export interface SessionDescriptionLike {
  type: string;
  sdp: string;
}

export interface PeerConnectionLike {
  readonly connectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: SessionDescriptionLike | null;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  ondatachannel: ((ev: { channel: DataChannelLike }) => void) | null;
  addTransceiver(trackOrKind: MediaStreamTrackLike | string, init?: { direction?: string; streams?: MediaStreamLike[] }): RtpTransceiverLike;
  createDataChannel(label: string, init?: Record<string, unknown>): DataChannelLike;
  createOffer(): Promise<SessionDescriptionLike>;
  setLocalDescription(d: SessionDescriptionLike): Promise<void>;
  setRemoteDescription(d: SessionDescriptionLike): Promise<void>;
  getTransceivers(): RtpTransceiverLike[];
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}

export interface WorkerLike {
  postMessage(msg: unknown): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  terminate(): void;
}

/** Browser globals the SDK looks up at run time (undefined where missing). */
export interface RtcGlobals {
  RTCPeerConnection?: new (config?: Record<string, unknown>) => PeerConnectionLike;
  RTCRtpScriptTransform?: new (worker: WorkerLike, options?: unknown, transfer?: unknown[]) => unknown;
  RTCRtpSender?: { prototype: object };
  Worker?: new (url: string | URL, opts?: { type?: string; name?: string }) => WorkerLike;
  MediaStream?: new (tracks?: MediaStreamTrackLike[]) => MediaStreamLike;
}

export function rtcGlobals(): RtcGlobals {
  return globalThis as unknown as RtcGlobals;
}
