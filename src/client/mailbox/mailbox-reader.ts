/**
 * MailboxReader for Node (WebSockets through `ws`), at the path existing Node code imports. The
 * portable class is reader-core.ts; the browser entry (src/client/browser.ts) uses that one.
 */
import { installRuntime } from '../runtime.js';
import { nodeRuntime } from '../runtime-node.js';

installRuntime(nodeRuntime);
export * from './reader-core.js';
