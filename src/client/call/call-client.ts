/**
 * CallClient for Node (UDP through node:dgram, WebSockets through `ws`), at the path existing
 * Node code imports. The portable class is call-core.ts; the browser entry uses that one.
 */
import { installRuntime } from '../runtime.js';
import { nodeRuntime } from '../runtime-node.js';

installRuntime(nodeRuntime);
export * from './call-core.js';
