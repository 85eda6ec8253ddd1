/**
 * API keys through the real Worker and the real D1: every way a key can be
 * wrong is refused UNAUTHENTICATED (never treated as anonymous), a client
 * key is not an admin key, and revocation reaches a warm isolate within
 * AUTH_CACHE_TTL_MS.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateKey, hashSecret } from "../engine/auth/key-format";
import { listApiKeys, revokeApiKey } from "../engine/auth/key-store";
import { AUTH_CACHE_TTL_MS } from "../engine/auth/ttl-cache";
import { metaDatabase } from "../engine/index/routing";
import { api, BASE, createKey } from "./helpers";

const db = () => metaDatabase(env);

/** A credential setup per case: the headers to send. */
type Case = [name: string, headers: () => Promise<Record<string, string>>, status: number, code: string | null];

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

const cases: Case[] = [
  ["no credential", async () => ({}), 401, "UNAUTHENTICATED"],
  ["Authorization that is not Bearer", async () => ({ Authorization: "Basic YWRtaW46YWRtaW4=" }), 401, "UNAUTHENTICATED"],
  ["empty Bearer", async () => ({ Authorization: "Bearer " }), 401, "UNAUTHENTICATED"],
  ["malformed key (short secret)", async () => bearer("blz_admin_0123456789abcdef_tooshort"), 401, "UNAUTHENTICATED"],
  ["malformed key (unknown role)", async () => bearer(`blz_root_0123456789abcdef_${"a".repeat(43)}`), 401, "UNAUTHENTICATED"],
  ["unknown id", async () => bearer((await generateKey("admin")).key), 401, "UNAUTHENTICATED"],
  [
    "wrong secret for a real id",
    async () => {
      const real = await createKey("admin");
      const other = await generateKey("admin");
      return bearer(`blz_admin_${real.id}_${other.secret}`);
    },
    401,
    "UNAUTHENTICATED",
  ],
  [
    "a client key relabelled admin",
    async () => {
      const k = await createKey("client");
      return bearer(k.key.replace("blz_client_", "blz_admin_"));
    },
    401,
    "UNAUTHENTICATED",
  ],
  [
    "revoked admin key",
    async () => {
      const k = await createKey("admin");
      expect(await revokeApiKey(db(), k.id)).toBe(true);
      return k.headers;
    },
    401,
    "UNAUTHENTICATED",
  ],
  ["X-Blaze-Key holding a non-key", async () => ({ "X-Blaze-Key": "eyJhbGciOiJIUzI1NiJ9.e30.x" }), 401, "UNAUTHENTICATED"],
  [
    "two keys (Authorization and X-Blaze-Key)",
    async () => ({ ...(await createKey("admin")).headers, "X-Blaze-Key": (await createKey("admin")).key }),
    401,
    "UNAUTHENTICATED",
  ],
  ["client key on an admin route", async () => (await createKey("client")).headers, 403, "PERMISSION_DENIED"],
  ["admin key (Authorization)", async () => (await createKey("admin")).headers, 200, null],
  ["admin key (X-Blaze-Key)", async () => ({ "X-Blaze-Key": (await createKey("admin")).key }), 200, null],
];

describe("API keys on an admin route (GET /v1/status)", () => {
  it.each(cases)("%s", async (_name, headers, status, code) => {
    const r = await api("GET", "/v1/status", undefined, await headers());
    expect(r.status).toBe(status);
    if (code) expect(r.body.error).toMatchObject({ code, message: expect.any(String) });
    else expect(r.body.shards).toHaveLength(16);
  });
});

describe("API keys on every route", () => {
  it("a bad credential is refused even where anonymous callers are served", async () => {
    expect((await api("GET", "/v1/docs/open/none")).status).toBe(404);
    const bad = await api("GET", "/v1/docs/open/none", undefined, bearer((await generateKey("client")).key));
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe("UNAUTHENTICATED");
    const wrote = await api("PUT", "/v1/docs/open/w", { n: 1 }, { Authorization: "Bearer blz_nonsense" });
    expect(wrote.status).toBe(401);
    expect((await api("GET", "/v1/docs/open/w")).status).toBe(404);
  });

  it("a valid client key reaches the ordinary routes", async () => {
    const k = await createKey("client");
    expect((await api("PUT", "/v1/docs/open/c", { n: 1 }, k.headers)).status).toBe(200);
    expect((await api("GET", "/v1/docs/open/c", undefined, { "X-Blaze-Key": k.key })).body.data).toEqual({ n: 1 });
  });

  it("POST /v1/admin/*: anonymous 401, client 403, admin passes", async () => {
    expect((await api("POST", "/v1/admin/replay-quarantined")).status).toBe(401);
    expect((await api("POST", "/v1/admin/replay-quarantined", undefined, (await createKey("client")).headers)).status).toBe(403);
    const ok = await api("POST", "/v1/admin/replay-quarantined", undefined, (await createKey("admin")).headers);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ repaired: expect.any(Number) });
  });

  it("credentials in the URL are refused outside the WebSocket upgrade", async () => {
    const k = await createKey("admin");
    const r = await api("GET", `/v1/status?key=${k.key}`);
    expect(r.status).toBe(401);
    expect(r.body.error.message).toContain("WebSocket");
  });
});

describe("the internal listen routes (?doc=, ?shard=) are admin only", () => {
  const upgrade = (query: string, headers: Record<string, string> = {}) =>
    exports.default.fetch(new Request(`${BASE}/v1/listen?${query}`, { headers: { Upgrade: "websocket", ...headers } }));

  it.each([
    ["doc=rooms/a", {}, 401],
    ["shard=0", {}, 401],
    ["doc=rooms/a", "client", 403],
    ["shard=0", "client", 403],
  ] as const)("%s with %o -> %d", async (query, who, status) => {
    const headers = who === "client" ? (await createKey("client")).headers : {};
    const res = await upgrade(query, headers);
    expect(res.status).toBe(status);
    expect(res.webSocket).toBeNull();
  });

  it("an admin key opens them, in a header or as ?key= (browsers cannot set headers on a WebSocket)", async () => {
    const k = await createKey("admin");
    for (const res of [await upgrade("doc=rooms/a", k.headers), await upgrade(`shard=0&key=${k.key}`)]) {
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close();
    }
  });

  it("the client relay takes a client key as ?key=, and refuses a bad one before upgrading", async () => {
    const k = await createKey("client");
    const ok = await upgrade(`key=${k.key}`);
    expect(ok.status).toBe(101);
    ok.webSocket!.accept();
    ok.webSocket!.close();
    const bad = await upgrade(`key=${(await generateKey("client")).key}`);
    expect(bad.status).toBe(401);
  });
});

describe("key storage", () => {
  it("stores only the SHA-256 of the secret, lists and revokes once", async () => {
    const k = await createKey("client", "mobile app");
    const row = (await listApiKeys(db())).find((r) => r.id === k.id)!;
    expect(row).toMatchObject({ role: "client", name: "mobile app", revokedAt: null });
    const secret = k.key.slice(`blz_client_${k.id}_`.length);
    expect(secret).toHaveLength(43); // 32 bytes, base64url
    expect(row.secretHash).toBe(await hashSecret(secret));
    expect(JSON.stringify(await listApiKeys(db()))).not.toContain(secret);
    expect(await revokeApiKey(db(), k.id)).toBe(true);
    expect(await revokeApiKey(db(), k.id)).toBe(false);
    expect(await revokeApiKey(db(), "0000000000000000")).toBe(false);
  });

  it(`a key revoked while cached stops working within AUTH_CACHE_TTL_MS (${AUTH_CACHE_TTL_MS} ms)`, async () => {
    const k = await createKey("admin");
    expect((await api("GET", "/v1/status", undefined, k.headers)).status).toBe(200);
    await revokeApiKey(db(), k.id);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < AUTH_CACHE_TTL_MS + 2000) {
      status = (await api("GET", "/v1/status", undefined, k.headers)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(AUTH_CACHE_TTL_MS + 1000);
  }, 15_000);
});
