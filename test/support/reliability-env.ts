/**
 * Settings shared by the reliability suite (test/reliability/): CI or soak scale, and a seeded
 * random source (so that "random moments" can be replayed).
 *
 *   SHARDTAIL_SOAK=1     bigger counts and longer runs (the figures the issue names, or more)
 *   SHARDTAIL_SEED=N     replay the random choices of an earlier run (the seed is printed)
 */

export const SOAK = process.env.SHARDTAIL_SOAK === '1';

// Children that inherit this process's environment (engine-process.ts) never probe EC2 metadata.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

/** The CI figure, or the soak one under SHARDTAIL_SOAK=1. */
export function scale<T>(ci: T, soak: T): T {
  return SOAK ? soak : ci;
}

/** Default batch size (maxBufferSizeRecords): the duplicate bound per destination per crash. */
export const BATCH_RECORDS = 500;

/** A small seeded PRNG (mulberry32): the same seed gives the same kill moments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function suiteSeed(): number {
  const fromEnv = Number(process.env.SHARDTAIL_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 1 + Math.floor(Math.random() * 2 ** 31);
}

/** How long ago `startedMs` was, as "12.3 s". */
export function since(startedMs: number): string {
  return `${((Date.now() - startedMs) / 1000).toFixed(1)} s`;
}
