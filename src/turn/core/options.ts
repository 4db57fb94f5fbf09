/** What the TURN core needs, in core units (ms), derived from the `turn` config section by the host. */
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

/** Options with RFC 8656 defaults, for tests and tools; the host derives its own from config. */
export function defaultCoreOptions(overrides: Partial<TurnCoreOptions> = {}): TurnCoreOptions {
  return {
    realm: 'xentrop-relay',
    authSecret: '',
    staticUsers: [],
    relayFamily: 4,
    externalIp: '127.0.0.1',
    maxAllocations: 10_000,
    maxAllocationsPerUser: 16,
    maxPermissionsPerAllocation: 64,
    maxChannelsPerAllocation: 64,
    allocationLifetimeMs: 600_000,
    maxAllocationLifetimeMs: 3_600_000,
    permissionLifetimeMs: 300_000,
    channelLifetimeMs: 600_000,
    nonceLifetimeMs: 600_000,
    peerAllowList: [],
    peerDenyList: [],
    unauthRatePerSec: 50,
    unauthBurst: 200,
    software: '',
    nonceKey: Buffer.alloc(32, 1),
    tidPrefix: Buffer.alloc(8, 2),
    ...overrides,
  };
}
