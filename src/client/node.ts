/** The SDK for Node: UDP cells (node:dgram) and WebSockets through `ws`. `exports` condition `node`. */
import { installRuntime } from './runtime.js';
import { nodeRuntime } from './runtime-node.js';

installRuntime(nodeRuntime);
export * from './api.js';
