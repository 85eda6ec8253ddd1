/**
 * A WebSocket outlives the check made at its upgrade: the relay re-checks
 * its credentials, and ends it with an UNAUTHENTICATED error (id null) once
 * its key is revoked or its JWT has expired.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { revokeApiKey } from "../engine/auth/key-store";
import { SOCKET_RECHECK_MS } from "../engine/auth/socket-watch";
import { AUTH_CACHE_TTL_MS } from "../engine/auth/ttl-cache";
import { JWT_CLOCK_SKEW_S } from "../engine/auth/verify-jwt";
import { metaDatabase } from "../engine/index/routing";
import { api, createKey } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

async function open(query: string) {
  const s = await openListenSocket(query);
  /** The socket ended for its credentials: the error (id null), then the close (1008); resolves with when it closed. */
  const refused = async (timeoutMs: number) => {
    const [error] = await s.take(null, 1, timeoutMs);
    expect(error).toMatchObject({ id: null, type: "error", error: { code: "UNAUTHENTICATED" } });
    const end = Date.now() + 2000;
    while (s.closed() === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(s.closed()?.code).toBe(1008);
    return { error, at: Date.now() };
  };
  return { ...s, refused };
}

describe("sockets lose their credentials", () => {
  it("a socket opened with a key that is then revoked is closed within seconds", async () => {
    await api("PUT", "/v1/docs/sock/a", { n: 1 });
    const k = await createKey("client");
    const s = await open(`key=${k.key}`);
    s.send({ op: "listen", id: 1, doc: "sock/a" });
    expect((await s.take(1))[0]).toMatchObject({ type: "snapshot" });
    // Still up after a few re-checks while the key is valid.
    await new Promise((r) => setTimeout(r, SOCKET_RECHECK_MS + 500));
    expect(s.closed()).toBeNull();
    await revokeApiKey(metaDatabase(env), k.id);
    const revokedAt = Date.now();
    const { at } = await s.refused(AUTH_CACHE_TTL_MS + SOCKET_RECHECK_MS + 3000);
    expect(at - revokedAt).toBeLessThanOrEqual(AUTH_CACHE_TTL_MS + SOCKET_RECHECK_MS + 1000);
  }, 20_000);

  it("a socket opened with a JWT is closed when it expires", async () => {
    // Accepted now only thanks to the clock skew; expired for good ~3 s from now.
    const exp = Math.floor(Date.now() / 1000) - JWT_CLOCK_SKEW_S + 3;
    const token = await new SignJWT({ sub: "sock-user", iss: "https://issuer.blaze.test", aud: "blaze-test", exp })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    const s = await open(`access_token=${token}`);
    const { error } = await s.refused(3000 + SOCKET_RECHECK_MS + 3000);
    expect(error.error.message).toContain("expired");
  }, 15_000);

  it("an anonymous socket stays open", async () => {
    const s = await open("");
    await new Promise((r) => setTimeout(r, SOCKET_RECHECK_MS + 500));
    expect(s.closed()).toBeNull();
    s.ws.close();
  });
});
