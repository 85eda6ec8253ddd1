import { applyD1Migrations, env } from "cloudflare:test";

// Every workers test file starts from index databases (two index shards in
// tests, see vitest.config.ts) with the real migrations applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.DB2, env.TEST_MIGRATIONS);
