/**
 * CORS_ORIGINS through the real app: no CORS headers by default, the listed
 * origins (or `*`) otherwise; preflights answered before authentication.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../engine/http/app";
import { BASE } from "./helpers";

const app = createApp();

async function call(method: string, origins: string, headers: Record<string, string>, extraEnv: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}/v1/docs/cors/a`, { method, headers }), { ...env, CORS_ORIGINS: origins, ...extraEnv } as unknown as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const preflight = (origin: string) => ({
  Origin: origin,
  "Access-Control-Request-Method": "PUT",
  "Access-Control-Request-Headers": "authorization,x-blaze-key,content-type,idempotency-key",
});

describe("CORS", () => {
  it("empty CORS_ORIGINS: same-origin only (no CORS headers)", async () => {
    const pre = await call("OPTIONS", "", preflight("https://app.example"));
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const get = await call("GET", "", { Origin: "https://app.example" });
    expect(get.status).toBe(404);
    expect(get.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("a listed origin gets a preflight that allows the credential headers; others get none", async () => {
    const origins = "https://app.example, https://admin.example";
    const pre = await call("OPTIONS", origins, preflight("https://admin.example"));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example");
    expect(pre.headers.get("Access-Control-Allow-Methods")).toContain("PUT");
    const allowed = pre.headers.get("Access-Control-Allow-Headers")!.toLowerCase();
    for (const h of ["authorization", "x-blaze-key", "content-type", "idempotency-key", "if-match"]) expect(allowed).toContain(h);
    expect((await call("OPTIONS", origins, preflight("https://evil.example"))).headers.get("Access-Control-Allow-Origin")).toBeNull();
    const get = await call("GET", origins, { Origin: "https://app.example" });
    expect(get.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    expect(get.headers.get("Vary")).toContain("Origin");
  });

  it("`*` allows any origin (development)", async () => {
    expect((await call("OPTIONS", "*", preflight("http://localhost:5173"))).headers.get("Access-Control-Allow-Origin")).toBe("*");
  });

  it("errors carry the CORS headers, so the page can read them", async () => {
    const res = await call("GET", "https://app.example", { Origin: "https://app.example", Authorization: "Bearer blz_nonsense" });
    expect(res.status).toBe(401);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
    expect(res.headers.get("Access-Control-Expose-Headers")).toContain("Retry-After");
  });

  it("a preflight is answered before the deployment and credential checks (it carries no credentials)", async () => {
    // Not dev and no index database at all: anything that reaches the checks fails.
    const broken = { BLAZE_DEV: "", INDEX_SHARDS: "NO_SUCH_BINDING" };
    expect((await call("GET", "https://app.example", { Origin: "https://app.example" }, broken)).status).toBeGreaterThanOrEqual(400);
    const res = await call("OPTIONS", "https://app.example", preflight("https://app.example"), broken);
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example");
  });
});
