/** The client SDK: mailboxes (signalling envelopes) and calls (media cells). */
export * from './mailbox/index.js';
export * from './call/index.js';
