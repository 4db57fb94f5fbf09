/** The mailbox SDK: keys, sealed padded envelopes, posting, reading. Portable. */
export { generateMailboxKeys, mailboxIdOf, type MailboxKeys } from './mailbox-keys.js';
export { sealEnvelope, openEnvelope, DEFAULT_BUCKETS, SEAL_OVERHEAD, type EnvelopeMessage } from './sealed-envelope.js';
export { postEnvelope, PostSocket, type PostOptions } from './post.js';
export { MailboxReader, type ReaderOptions, type ReceivedEnvelope, type ReaderEvents } from './reader-core.js';
export { encodeB64url, decodeB64url } from '../../wire/envelope-protocol.js';
