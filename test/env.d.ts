declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** Second index shard, bound in tests only (vitest.config.ts). */
    DB2: D1Database;
    /** Tests only (vitest.config.ts): as under `npm start`, and the test JWT secret. */
    BLAZE_DEV: string;
    JWT_SECRET: string;
    /** Runs per fuzz property (test/fuzz.test.ts), from the shell's FUZZ_RUNS; "" for the default. */
    FUZZ_RUNS: string;
  }
}
