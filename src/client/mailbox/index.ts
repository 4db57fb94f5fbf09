/** The mailbox SDK: keys, sealed padded envelopes, posting, reading. */
export { generateMailboxKeys, mailboxIdOf, sodiumReady, type MailboxKeys } from './mailbox-keys.js';
export { sealEnvelope, openEnvelope, EnvelopeSealError, DEFAULT_BUCKETS, SEAL_OVERHEAD, type EnvelopeMessage } from './sealed-envelope.js';
export { postEnvelope, PostSocket, RelayRequestError, type PostOptions } from './post.js';
export { MailboxReader, type ReaderOptions, type ReceivedEnvelope, type ReaderEvents } from './mailbox-reader.js';
export { encodeB64url, decodeB64url } from '../../envelope/protocol.js';
