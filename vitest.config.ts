import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";

// `import ... from "blaze/sdk"` (package.json "exports"): Node and tsc resolve
// a package's own name, Vite does not, so tests get it as an alias.
const resolve = { alias: { "blaze/sdk": fileURLToPath(new URL("./sdk/index.ts", import.meta.url)) } };
// The engine tests run under test rules (open, except `sec_*` collections
// that the security tests guard), in place of the project's blaze.rules.ts.
const workersResolve = {
  alias: [
    { find: "blaze/sdk", replacement: resolve.alias["blaze/sdk"] },
    { find: /^.*\/blaze\.rules$/, replacement: fileURLToPath(new URL("./test/fixtures/test.rules.ts", import.meta.url)) },
  ],
};

// Two projects: pure modules run in plain Node (fast, no runtime), the engine
// runs inside workerd with real Durable Object storage, real D1 (migrations
// applied by test/setup/apply-migrations.ts) and the real queue handler.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  const jwtTestKeys = JSON.parse(readFileSync(new URL("./test/fixtures/jwt-test-keys.json", import.meta.url), "utf8"));
  return {
    test: {
      projects: [
        {
          resolve,
          test: {
            name: "unit",
            // Property tests run thousands of cases: 5 s (vitest's default) is
            // too tight on a loaded 2-core machine, though not on an idle one.
            testTimeout: 30_000,
            include: ["engine/core/**/*.test.ts", "engine/auth/**/*.test.ts", "engine/index/**/*.test.ts", "engine/pipeline/**/*.test.ts", "engine/query/**/*.test.ts", "engine/shard/**/*.test.ts", "engine/sockets/**/*.test.ts", "sdk/**/*.test.ts", "demo/src/**/*.test.ts", "scripts/**/*.test.ts", "loadtest/**/*.test.ts"],
            exclude: ["**/*.workers.test.ts"],
            environment: "node",
          },
        },
        {
          // Real `wrangler dev` processes: crash and restart acceptance tests.
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 180_000,
            hookTimeout: 60_000,
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // Tests run with two index shards and one split collection
                // ("events"), so no code path can assume a single D1.
                d1Databases: ["DB", "DB2"],
                // Small limits, so test/rate-limit.test.ts reaches them in a few calls (wrangler.toml's are larger).
                ratelimits: {
                  RATE_LIMIT_CALLER: { namespace_id: "1001", simple: { limit: 20, period: 10 } },
                  RATE_LIMIT_IP: { namespace_id: "1002", simple: { limit: 30, period: 10 } },
                },
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  INDEX_SHARDS: "DB,DB2",
                  INDEX_SPLIT_COLLECTIONS: "events",
                  OUTBOX_RESEND_MS: "2000",
                  PREPARE_TIMEOUT_MS: "1000",
                  // As under `npm start`: no admin key required (test/auth.defaults.test.ts checks without).
                  BLAZE_DEV: "true",
                  // Test-only JWT settings (test/auth.jwt.test.ts); the key pairs are a fixture, never real.
                  JWT_SECRET: "test-only-hs256-secret-0123456789abcdef",
                  JWT_JWKS: JSON.stringify(jwtTestKeys.jwks),
                  JWT_ISSUER: "https://issuer.blaze.test",
                  JWT_AUDIENCE: "blaze-test",
                  // test/fuzz.test.ts: runs per property (FUZZ_RUNS=2000 npx vitest run --project workers test/fuzz.test.ts).
                  FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
                },
              },
            }),
          ],
          resolve: workersResolve,
          test: {
            name: "workers",
            testTimeout: 30_000,
            include: ["test/**/*.test.ts", "engine/**/*.workers.test.ts"],
            exclude: ["test/e2e/**"],
            setupFiles: ["./test/setup/apply-migrations.ts"],
          },
        },
      ],
    },
  };
});
