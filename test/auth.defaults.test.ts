/**
 * Safe defaults: a deployment (no BLAZE_DEV) without an active admin key
 * refuses every request with FAILED_PRECONDITION; the first admin key opens
 * it, revoking the last closes it again. Runs the real app on an env whose
 * first index shard is DB2, so no other test's keys count.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { createApiKey, revokeApiKey } from "../engine/auth/key-store";
import { assertConfigured, DEV_RULES_MESSAGE, NOT_CONFIGURED_MESSAGE } from "../engine/auth/configured";
import { devRules } from "../engine/core/rules/define";
import { clearAuthCaches } from "../engine/auth/ttl-cache";
import { createApp } from "../engine/http/app";
import { BASE } from "./helpers";

const deployed = { ...env, INDEX_SHARDS: "DB2,DB", BLAZE_DEV: "" } as unknown as Env;
const app = createApp();

async function call(path: string, e: Env = deployed, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, { headers }), e, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as any };
}

describe("a deployment with no admin key", () => {
  beforeEach(async () => {
    await env.DB2.prepare("UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL").bind(new Date().toISOString()).run();
    clearAuthCaches();
  });

  it("refuses every request FAILED_PRECONDITION, saying how to fix it", async () => {
    for (const path of ["/v1/docs/a/b", "/v1/status", "/v1/nowhere"]) {
      const r = await call(path);
      expect(r.status).toBe(412);
      expect(r.body.error).toEqual({ code: "FAILED_PRECONDITION", message: NOT_CONFIGURED_MESSAGE });
    }
    expect(NOT_CONFIGURED_MESSAGE).toContain("npm run blaze -- keys create --role admin --remote");
  });

  it("a client key does not configure it; an admin key does (within the cache TTL); revoking it closes it again", async () => {
    await createApiKey(env.DB2, "client");
    clearAuthCaches();
    expect((await call("/v1/docs/a/b")).status).toBe(412);
    const admin = await createApiKey(env.DB2, "admin");
    // The "no admin key" answer is cached for AUTH_CACHE_TTL_MS; a fresh isolate sees the key at once.
    expect((await call("/v1/docs/a/b")).status).toBe(412);
    clearAuthCaches();
    expect((await call("/v1/docs/a/b")).status).toBe(404);
    expect((await call("/v1/status", deployed, { Authorization: `Bearer ${admin.key}` })).status).toBe(200);
    await revokeApiKey(env.DB2, admin.id);
    clearAuthCaches();
    await expect(assertConfigured(deployed)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });

  it("runs open under BLAZE_DEV=true (npm start, tests) only", async () => {
    expect((await call("/v1/docs/a/b", { ...deployed, BLAZE_DEV: "true" } as unknown as Env)).status).toBe(404);
    for (const notDev of ["", "false", "1", "TRUE "]) {
      clearAuthCaches();
      expect((await call("/v1/docs/a/b", { ...deployed, BLAZE_DEV: notDev } as unknown as Env)).status).toBe(412);
    }
  });
});

describe("a deployment still on devRules()", () => {
  it("refuses every request, even with an admin key, saying how to fix it; dev mode runs with them", async () => {
    await createApiKey(env.DB2, "admin");
    clearAuthCaches();
    await expect(assertConfigured(deployed, devRules())).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: DEV_RULES_MESSAGE });
    await expect(assertConfigured({ ...deployed, BLAZE_DEV: "true" } as unknown as Env, devRules())).resolves.toBeUndefined();
    // The test rules are real rules: the same deployment is served.
    await expect(assertConfigured(deployed)).resolves.toBeUndefined();
    expect(DEV_RULES_MESSAGE).toContain("docs/rules.md");
  });
});
