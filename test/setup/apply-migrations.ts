import { applyD1Migrations, env } from "cloudflare:test";

// Every workers test file starts from a D1 with the real migrations applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
