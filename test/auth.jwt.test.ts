/**
 * JWTs through the real Worker (test env: JWT_SECRET, JWT_JWKS from
 * test/fixtures/jwt-test-keys.json, JWT_ISSUER, JWT_AUDIENCE in
 * vitest.config.ts). A valid token makes a client caller: GET /v1/status
 * answers it PERMISSION_DENIED (403); every bad token is UNAUTHENTICATED (401).
 */
import { env } from "cloudflare:workers";
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { authenticateRequest } from "../engine/auth/authenticate";
import { JWT_CLOCK_SKEW_S, verifyJwt } from "../engine/auth/verify-jwt";
import fixture from "./fixtures/jwt-test-keys.json";
import { api, BASE, createKey } from "./helpers";

const ISSUER = "https://issuer.blaze.test";
const AUDIENCE = "blaze-test";
const SECRET = new TextEncoder().encode(env.JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const privateJwk = (kid: "test-rs256" | "test-es256") => (fixture.private as Record<string, JWK>)[kid];
const publicJwk = (kid: string) => fixture.jwks.keys.find((k) => k.kid === kid)!;

interface Sign {
  alg?: "HS256" | "RS256" | "ES256";
  kid?: string;
  key?: CryptoKey | Uint8Array;
  claims?: JWTPayload;
  omit?: string[];
}

/** A token signed as the test provider signs them, with any part overridden. */
async function sign({ alg = "RS256", kid, key, claims = {}, omit = [] }: Sign = {}): Promise<string> {
  const base: JWTPayload = { sub: "user-1", iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, email: "u1@example.com" };
  const payload = { ...base, ...claims };
  for (const k of omit) delete payload[k];
  const signingKey = key ?? (alg === "HS256" ? SECRET : await importJWK(privateJwk(alg === "RS256" ? "test-rs256" : "test-es256"), alg));
  const header = { alg, ...(alg === "HS256" ? {} : { kid: kid ?? (alg === "RS256" ? "test-rs256" : "test-es256") }) };
  // SignJWT sets exp/iat only when asked; passing them as claims keeps "omit" able to drop them.
  return new SignJWT(payload).setProtectedHeader(header).sign(signingKey);
}

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const status = async (token: string) => api("GET", "/v1/status", undefined, { Authorization: `Bearer ${token}` });

type Case = [name: string, token: () => Promise<string>];

const rejected: Case[] = [
  ["not a JWT at all", async () => "not-a-jwt"],
  ["forged: RS256 signed by another key under the same kid", async () => sign({ key: (await generateKeyPair("RS256")).privateKey })],
  ["forged: HS256 signed with another secret", async () => sign({ alg: "HS256", key: new TextEncoder().encode("guessed-secret") })],
  ["tampered payload", async () => {
    const [h, , s] = (await sign()).split(".");
    return `${h}.${b64url(JSON.stringify({ sub: "admin", iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }))}.${s}`;
  }],
  ["expired (past the clock skew)", async () => sign({ claims: { exp: now() - JWT_CLOCK_SKEW_S - 60 } })],
  ["not yet valid (nbf past the clock skew)", async () => sign({ claims: { nbf: now() + JWT_CLOCK_SKEW_S + 60 } })],
  ["wrong issuer", async () => sign({ claims: { iss: "https://evil.example" } })],
  ["wrong audience", async () => sign({ claims: { aud: "another-app" } })],
  ["no exp", async () => sign({ omit: ["exp"] })],
  ["no sub", async () => sign({ omit: ["sub"] })],
  ["alg: none", async () => `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify({ sub: "user-1", iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }))}.`],
  ["alg: HS384 (not accepted)", async () => {
    const payload = { sub: "user-1", iss: ISSUER, aud: AUDIENCE, exp: now() + 600 };
    return new SignJWT(payload).setProtectedHeader({ alg: "HS384" }).sign(SECRET);
  }],
  ["algorithm confusion: HS256 keyed with the RS256 public key (JWK JSON)", async () =>
    sign({ alg: "HS256", key: new TextEncoder().encode(JSON.stringify(publicJwk("test-rs256"))) })],
  ["algorithm confusion: HS256 keyed with the RS256 public key (PEM)", async () => {
    const pem = await exportSPKI((await importJWK(publicJwk("test-rs256"), "RS256", { extractable: true })) as CryptoKey);
    return sign({ alg: "HS256", key: new TextEncoder().encode(pem) });
  }],
  ["unknown kid", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    return sign({ kid: "not-in-the-jwks", key: privateKey });
  }],
  ["ES256 header on an RS256 kid", async () => sign({ alg: "ES256", kid: "test-rs256" })],
];

describe("JWTs that are refused", () => {
  it.each(rejected)("%s -> UNAUTHENTICATED", async (_name, token) => {
    const t = await token();
    const r = await status(t);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
    // Anywhere, not only on admin routes: a bad token is never read as anonymous.
    expect((await api("GET", "/v1/docs/jwt/none", undefined, { Authorization: `Bearer ${t}` })).status).toBe(401);
  });

  it("an RS256 public key is never an HS256 secret, even where no HS256 secret is configured", async () => {
    const noSecret = { ...env, JWT_SECRET: "" };
    const confused = await sign({ alg: "HS256", key: new TextEncoder().encode(JSON.stringify(publicJwk("test-rs256"))) });
    await expect(verifyJwt(noSecret, confused)).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringContaining("JWT_SECRET is not set") });
  });

  it("without any JWT setting a token is refused, not ignored", async () => {
    const bare = { ...env, JWT_SECRET: "", JWT_JWKS: "", JWT_JWKS_URL: "" };
    await expect(verifyJwt(bare, await sign())).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(verifyJwt(bare, await sign({ alg: "HS256" }))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("a JWT_JWKS that is not a JWKS is a configuration error", async () => {
    await expect(verifyJwt({ ...env, JWT_JWKS: "{nope" }, await sign())).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });
});

describe("valid JWTs", () => {
  it.each(["RS256", "ES256", "HS256"] as const)("%s: a client caller with the verified claims as auth", async (alg) => {
    const token = await sign({ alg, claims: { sub: `u-${alg}`, role: "editor" } });
    const r = await status(token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("PERMISSION_DENIED");
    expect((await api("PUT", `/v1/docs/jwt/${alg}`, { n: 1 }, { Authorization: `Bearer ${token}` })).status).toBe(200);
    const { auth, expiresAt } = await authenticateRequest(env, new Request(`${BASE}/v1/docs/x/y`, { headers: { Authorization: `Bearer ${token}` } }));
    expect(auth).toEqual({
      role: "client",
      keyId: null,
      user: { uid: `u-${alg}`, token: expect.objectContaining({ sub: `u-${alg}`, role: "editor", email: "u1@example.com", iss: ISSUER, aud: AUDIENCE }) },
    });
    expect(expiresAt).toBeGreaterThan(Date.now());
  });

  it("exp and nbf get the clock skew", async () => {
    expect((await status(await sign({ claims: { exp: now() - JWT_CLOCK_SKEW_S + 10 } }))).status).toBe(403);
    expect((await status(await sign({ claims: { nbf: now() + JWT_CLOCK_SKEW_S - 10 } }))).status).toBe(403);
  });

  it("a client key and a user's JWT together (X-Blaze-Key + Bearer, or ?key= + ?access_token= on the upgrade)", async () => {
    const k = await createKey("client");
    const token = await sign({ alg: "ES256" });
    for (const request of [
      new Request(`${BASE}/v1/docs/x/y`, { headers: { Authorization: `Bearer ${token}`, "X-Blaze-Key": k.key } }),
      new Request(`${BASE}/v1/listen?key=${k.key}&access_token=${token}`, { headers: { Upgrade: "websocket" } }),
    ]) {
      const { auth } = await authenticateRequest(env, request);
      expect(auth).toMatchObject({ role: "client", keyId: k.id, user: { uid: "user-1" } });
    }
  });

  it("an admin key with a JWT stays admin; a bad JWT beside it is still refused", async () => {
    const k = await createKey("admin");
    expect((await api("GET", "/v1/status", undefined, { "X-Blaze-Key": k.key, Authorization: `Bearer ${await sign()}` })).status).toBe(200);
    const bad = await sign({ claims: { aud: "another-app" } });
    expect((await api("GET", "/v1/status", undefined, { "X-Blaze-Key": k.key, Authorization: `Bearer ${bad}` })).status).toBe(401);
  });
});
