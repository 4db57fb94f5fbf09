/** The client SDK for Node (kept at this path for existing imports): the same as node.ts. */
export * from './node.js';
