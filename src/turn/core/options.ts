/**
 * What the TURN core needs, in core units (ms), derived from the `turn` config section by the host
 * (server/core-options.ts, which also gives tests and tools the schema's defaults: `defaultCoreOptions`).
 * The core holds no defaults of its own: the schema is their one table.
 */
export interface TurnCoreOptions {
  readonly realm: string;
  readonly authSecret: string;
  readonly staticUsers: readonly string[];
  /** Family of the relay address (requests for the other family get 440). */
  readonly relayFamily: 4 | 6;
  /** Address advertised in XOR-RELAYED-ADDRESS. */
  readonly externalIp: string;
  readonly maxAllocations: number;
  readonly maxAllocationsPerUser: number;
  readonly maxPermissionsPerAllocation: number;
  readonly maxChannelsPerAllocation: number;
  readonly allocationLifetimeMs: number;
  readonly maxAllocationLifetimeMs: number;
  readonly permissionLifetimeMs: number;
  readonly channelLifetimeMs: number;
  readonly nonceLifetimeMs: number;
  readonly peerAllowList: readonly string[];
  readonly peerDenyList: readonly string[];
  readonly unauthRatePerSec: number;
  readonly unauthBurst: number;
  /** SOFTWARE attribute; empty sends none. */
  readonly software: string;
  /** Key for stateless nonces (random, drawn by the host at start). */
  readonly nonceKey: Uint8Array;
  /** 8 random bytes prefixing the transaction ids of Data indications. */
  readonly tidPrefix: Uint8Array;
}
