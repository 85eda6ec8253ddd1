/**
 * Rate limits on the real rate-limiting bindings of wrangler.toml
 * (RATE_LIMIT_CALLER, RATE_LIMIT_IP), as a deployment runs them (no BLAZE_DEV).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AuthContext } from "../engine/core/auth";
import { ANONYMOUS } from "../engine/core/auth";
import { enforceRateLimits, RATE_LIMIT_PERIOD_S } from "../engine/auth/rate-limit";
import { createApp } from "../engine/http/app";
import { BASE, createKey } from "./helpers";

const deployed = { ...env, BLAZE_DEV: "" } as unknown as Env;
// The test limits (vitest.config.ts), per 10 s.
const CALLER_LIMIT = 20;
const IP_LIMIT = 30;

/**
 * Local limits count in fixed windows aligned to the clock (as Cloudflare's
 * do, roughly): start a burst early in a window so it does not straddle two.
 */
async function freshWindow() {
  while (Date.now() % (RATE_LIMIT_PERIOD_S * 1000) > 3000) await new Promise((r) => setTimeout(r, 100));
}

const user = (uid: string): AuthContext => ({ role: "client", keyId: null, user: { uid, token: { sub: uid } } });
const from = (ip: string) => new Request(`${BASE}/v1/docs/a/b`, { headers: { "CF-Connecting-IP": ip } });

/** How many calls pass before the first refusal (up to `max`), and that refusal. */
async function passesBeforeRefusal(call: () => Promise<void>, max: number) {
  for (let n = 0; n < max; n++) {
    try {
      await call();
    } catch (e) {
      return { n, error: e as any };
    }
  }
  return { n: max, error: null };
}

describe("rate limits", () => {
  it("per user (or API key): the limit's worth of requests, then RESOURCE_EXHAUSTED with a retry time; other users unaffected", async () => {
    await freshWindow();
    const r = await passesBeforeRefusal(() => enforceRateLimits(deployed, user("busy"), from("10.0.0.1")), CALLER_LIMIT + 5);
    expect(r.n).toBe(CALLER_LIMIT);
    expect(r.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", details: { limit: "caller", retryAfterMs: RATE_LIMIT_PERIOD_S * 1000 } });
    expect(r.error.message).toContain("this user");
    await enforceRateLimits(deployed, user("calm"), from("10.0.0.1"));
  }, 20_000);

  it("per IP, for anonymous callers too; other addresses unaffected", async () => {
    await freshWindow();
    const r = await passesBeforeRefusal(() => enforceRateLimits(deployed, ANONYMOUS, from("10.0.0.2")), IP_LIMIT + 5);
    expect(r.n).toBe(IP_LIMIT);
    expect(r.error).toMatchObject({ code: "RESOURCE_EXHAUSTED", details: { limit: "ip" } });
    await enforceRateLimits(deployed, ANONYMOUS, from("10.0.0.3"));
  }, 20_000);

  it("admin keys and dev mode are not limited", async () => {
    const admin: AuthContext = { role: "admin", keyId: "k" };
    expect((await passesBeforeRefusal(() => enforceRateLimits(deployed, admin, from("10.0.0.4")), IP_LIMIT + 5)).n).toBe(IP_LIMIT + 5);
    expect((await passesBeforeRefusal(() => enforceRateLimits(env, user("dev"), from("10.0.0.5")), CALLER_LIMIT + 5)).n).toBe(CALLER_LIMIT + 5);
  });

  it("through the app: 429 with Retry-After for a client key over its limit", async () => {
    await createKey("admin"); // a deployment needs one to answer at all
    const k = await createKey("client");
    const app = createApp();
    await freshWindow();
    const get = async () => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(`${BASE}/v1/docs/limited/x`, { headers: { ...k.headers, "CF-Connecting-IP": "10.0.0.6" } }), deployed, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    let res = await get();
    for (let i = 1; i < CALLER_LIMIT && res.status !== 429; i++) res = await get();
    expect(res.status).toBe(404);
    res = await get();
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe(String(RATE_LIMIT_PERIOD_S));
    expect(((await res.json()) as any).error.code).toBe("RESOURCE_EXHAUSTED");
  }, 20_000);
});
