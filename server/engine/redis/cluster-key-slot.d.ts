/** Types for `cluster-key-slot` (the hash slot of a Redis Cluster key, as ioredis computes it), which ships none. */
declare module 'cluster-key-slot' {
  /** The key's hash slot, 0-16383 (the part inside its first `{…}` hash tag, if any). */
  export default function calculateSlot(key: string | Buffer): number;
}
