declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** Second index shard, bound in tests only (vitest.config.ts). */
    DB2: D1Database;
  }
}
