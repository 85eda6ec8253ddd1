/**
 * Credentials on the listen socket (docs/security.md, "WebSockets"), through
 * the real Worker: offered as a subprotocol (never echoed back) or as the
 * first message; refreshed in-band (listeners kept, re-judged by the new
 * claims); an expired JWT ends the listeners (UNAUTHENTICATED) but not the
 * socket; a revoked key ends the socket.
 */
import { env, exports } from "cloudflare:workers";
import { doc, initializeBlaze, onSnapshot, terminate, type SocketLike } from "blaze/sdk";
import { describe, expect, it } from "vitest";
import { encodeBase64url } from "../engine/core/base64url";
import { revokeApiKey } from "../engine/auth/key-store";
import { SOCKET_RECHECK_MS } from "../engine/auth/socket-watch";
import { AUTH_CACHE_TTL_MS } from "../engine/auth/ttl-cache";
import { metaDatabase } from "../engine/index/routing";
import { adminHeaders, api, BASE, createKey, eventually } from "./helpers";
import { expiringIn, testJwt } from "./support/jwt";
import { openListenSocket } from "./support/listen-socket";

/** `Sec-WebSocket-Protocol` offering blaze.v1 and these credentials. */
const offering = (...credentials: string[]) => ({
  "Sec-WebSocket-Protocol": ["blaze.v1", ...credentials.map((c) => `blaze.auth.${encodeBase64url(c)}`)].join(", "),
});

async function open(query = "", headers: Record<string, string> = {}) {
  const s = await openListenSocket(query, headers);
  /** The socket ended for its credentials: the error (id null), then the close (1008); resolves with when it closed. */
  const refused = async (timeoutMs: number) => {
    const [error] = await s.take(null, 1, timeoutMs);
    expect(error).toMatchObject({ id: null, type: "error", error: { code: "UNAUTHENTICATED" } });
    await closedWithin(2000);
    expect(s.closed()?.code).toBe(1008);
    return { error, at: Date.now() };
  };
  const closedWithin = async (ms: number) => {
    const end = Date.now() + ms;
    while (s.closed() === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  /** The `{"type":"auth"}` answer to an auth message. */
  const authAnswer = async (timeoutMs = 3000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = s.messages.findIndex((m) => m.type === "auth");
      if (i >= 0) return s.messages.splice(i, 1)[0];
      if (Date.now() > end) throw new Error(`no auth answer: ${JSON.stringify(s.messages)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ...s, refused, authAnswer, closedWithin };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function adminPut(path: string, data: Record<string, unknown>) {
  expect((await api("PUT", `/v1/docs/${path}`, data, await adminHeaders())).status).toBe(200);
}

describe("credentials as a subprotocol", () => {
  it("a key and a JWT offered beside blaze.v1 authenticate the socket; the answer names blaze.v1 only, no credential in any header", async () => {
    await adminPut("sec_tasks/sp1", { owner: "sp-user" });
    const k = await createKey("client");
    const token = await testJwt("sp-user");
    const s = await open("", offering(k.key, token));
    expect(s.headers.get("Sec-WebSocket-Protocol")).toBe("blaze.v1");
    const all = JSON.stringify([...s.headers]);
    for (const secret of [k.key, token, encodeBase64url(k.key), encodeBase64url(token), "blaze.auth"]) expect(all).not.toContain(secret);
    s.send({ op: "listen", id: 1, doc: "sec_tasks/sp1" });
    expect((await s.take(1))[0]).toMatchObject({ type: "snapshot", changes: [{ doc: { data: { owner: "sp-user" } } }] });
    s.ws.close();
  });

  it("without credentials, blaze.v1 alone is answered too; an anonymous socket cannot read what the rules keep", async () => {
    await adminPut("sec_tasks/sp2", { owner: "sp-user" });
    const s = await open("", offering());
    expect(s.headers.get("Sec-WebSocket-Protocol")).toBe("blaze.v1");
    s.send({ op: "listen", id: 1, doc: "sec_tasks/sp2" });
    expect((await s.take(1))[0]).toMatchObject({ type: "error", error: { code: "PERMISSION_DENIED" } });
    s.ws.close();
  });

  it("refuses a bad credential before upgrading (401, not echoed), and credentials offered without blaze.v1 (400)", async () => {
    const forged = `${(await testJwt("x")).slice(0, -4)}AAAA`;
    const bad = await exports.default.fetch(new Request(`${BASE}/v1/listen`, { headers: { Upgrade: "websocket", ...offering(forged) } }));
    expect(bad.status).toBe(401);
    expect(bad.headers.get("Sec-WebSocket-Protocol")).toBeNull();
    expect(await bad.text()).not.toContain(forged);
    const k = await createKey("client");
    const noV1 = await exports.default.fetch(
      new Request(`${BASE}/v1/listen`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `blaze.auth.${encodeBase64url(k.key)}` } }),
    );
    expect(noV1.status).toBe(400);
    expect(await noV1.json()).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
  });

  it("the internal route answers blaze.v1 too, for an admin key offered as a subprotocol", async () => {
    const admin = await createKey("admin");
    const s = await open("doc=sock/internal", offering(admin.key));
    expect(s.headers.get("Sec-WebSocket-Protocol")).toBe("blaze.v1");
    s.send({ op: "listen", id: 1, doc: "sock/internal" });
    expect((await s.take(1))[0]).toMatchObject({ type: "snapshot", initial: true });
    s.ws.close();
  });
});

describe("credentials as the first message", () => {
  it("an auth message first: the listens sent right behind it are judged as that user", async () => {
    await adminPut("sec_tasks/fm1", { owner: "fm-user" });
    const s = await open();
    s.send({ op: "auth", token: await testJwt("fm-user") });
    s.send({ op: "listen", id: 1, doc: "sec_tasks/fm1" });
    expect(await s.authAnswer()).toMatchObject({ type: "auth", uid: "fm-user", expiresAt: expect.any(Number) });
    expect((await s.take(1))[0]).toMatchObject({ type: "snapshot", changes: [{ doc: { data: { owner: "fm-user" } } }] });
    s.ws.close();
  });

  it("refused first credentials end the socket (1008), never leaving it anonymous", async () => {
    const k = await createKey("client");
    await revokeApiKey(metaDatabase(env), k.id);
    const s = await open();
    s.send({ op: "auth", key: k.key });
    s.send({ op: "listen", id: 1, doc: "sock/a" });
    await s.refused(3000);
    expect(s.messages.filter((m) => m.id === 1)).toEqual([]);
  });

  it("a socket that listened anonymously cannot then sign in: FAILED_PRECONDITION, and the socket ends (open a new one)", async () => {
    const s = await open();
    s.send({ op: "listen", id: 1, doc: "sock/anon" });
    await s.take(1);
    s.send({ op: "auth", token: await testJwt("late-user") });
    const [error] = await s.take(null);
    expect(error).toMatchObject({ type: "error", error: { code: "FAILED_PRECONDITION" } });
    await s.closedWithin(2000);
    expect(s.closed()).toMatchObject({ code: 1008 });
  });
});

describe("refreshing the token in-band", () => {
  it("a fresh token before expiry keeps the listeners: changes still arrive after the first token expired", async () => {
    await adminPut("sec_tasks/rf1", { owner: "rf-user", v: 1 });
    const s = await open();
    s.send({ op: "auth", token: await testJwt("rf-user", {}, expiringIn(2)) });
    s.send({ op: "listen", id: 1, doc: "sec_tasks/rf1" });
    s.send({ op: "listen", id: "q", query: { from: { collection: "sec_tasks" }, where: ["owner", "==", "rf-user"] } });
    await s.authAnswer();
    await Promise.all([s.take(1), s.take("q")]);
    s.send({ op: "auth", token: await testJwt("rf-user") });
    expect(await s.authAnswer()).toMatchObject({ uid: "rf-user" });
    // Past the first token's expiry and a re-check or two.
    await sleep(2000 + SOCKET_RECHECK_MS + 1000);
    await adminPut("sec_tasks/rf1", { owner: "rf-user", v: 2 });
    const [[doc], [q]] = await Promise.all([s.take(1), s.take("q")]);
    expect(doc.changes[0].doc.data.v).toBe(2);
    expect(q.changes[0].doc.data.v).toBe(2);
    expect(s.messages.filter((m) => m.type === "error")).toEqual([]);
    s.ws.close();
  }, 15_000);

  it("without a fresh token, expiry ends every listener with UNAUTHENTICATED and keeps the socket; a fresh token lets it listen again", async () => {
    await adminPut("sec_tasks/ex1", { owner: "ex-user", v: 1 });
    const s = await open("", offering(await testJwt("ex-user", {}, expiringIn(2))));
    s.send({ op: "listen", id: 1, doc: "sec_tasks/ex1" });
    s.send({ op: "listen", id: "q", query: { from: { collection: "sec_tasks" }, where: ["owner", "==", "ex-user"] } });
    await Promise.all([s.take(1), s.take("q")]);
    const [[ended], [endedQ]] = await Promise.all([s.take(1, 1, 2000 + SOCKET_RECHECK_MS + 3000), s.take("q", 1, 5000)]);
    for (const e of [ended, endedQ]) expect(e).toMatchObject({ type: "error", error: { code: "UNAUTHENTICATED" } });
    expect(ended.error.message).toContain("expired");
    expect(s.closed()).toBeNull();
    // Nothing more reaches the ended listeners; a new listen is refused until a fresh token comes.
    await adminPut("sec_tasks/ex1", { owner: "ex-user", v: 2 });
    s.send({ op: "listen", id: 2, doc: "sec_tasks/ex1" });
    expect((await s.take(2))[0]).toMatchObject({ type: "error", error: { code: "UNAUTHENTICATED" } });
    expect(await s.quietFor(1)).toEqual([]);
    s.send({ op: "auth", token: await testJwt("ex-user") });
    s.send({ op: "listen", id: 3, doc: "sec_tasks/ex1" });
    expect((await s.take(3))[0]).toMatchObject({ type: "snapshot", changes: [{ doc: { data: { v: 2 } } }] });
    s.ws.close();
  }, 15_000);

  it("refuses a token for another user (FAILED_PRECONDITION) or one that does not verify (UNAUTHENTICATED), keeping the socket as it was", async () => {
    await adminPut("sec_tasks/rr1", { owner: "rr-user", v: 1 });
    const s = await open("", offering(await testJwt("rr-user")));
    s.send({ op: "listen", id: 1, doc: "sec_tasks/rr1" });
    await s.take(1);
    s.send({ op: "auth", token: await testJwt("someone-else") });
    expect((await s.take(null))[0]).toMatchObject({ type: "error", error: { code: "FAILED_PRECONDITION" } });
    s.send({ op: "auth", token: `${(await testJwt("rr-user")).slice(0, -4)}AAAA` });
    expect((await s.take(null))[0]).toMatchObject({ type: "error", error: { code: "UNAUTHENTICATED" } });
    await adminPut("sec_tasks/rr1", { owner: "rr-user", v: 2 });
    expect((await s.take(1))[0].changes[0].doc.data.v).toBe(2);
    expect(s.closed()).toBeNull();
    s.ws.close();
  });

  it("listeners are judged again by the new token's claims: a document listener it may not read ends, a query listener follows the new filter", async () => {
    await adminPut("rooms/ct/sec_notes/red1", { team: "red" });
    await adminPut("rooms/ct/sec_notes/blue1", { team: "blue", secret: "blue's" });
    const s = await open("", offering(await testJwt("ct-user", { team: "red" })));
    s.send({ op: "listen", id: 1, doc: "rooms/ct/sec_notes/red1" });
    s.send({ op: "listen", id: "q", query: { from: { collection: "rooms/ct/sec_notes" } } });
    const [, [q]] = await Promise.all([s.take(1), s.take("q")]);
    expect(q.changes.map((c: any) => c.doc.id)).toEqual(["red1"]);
    s.send({ op: "auth", token: await testJwt("ct-user", { team: "blue" }) });
    expect((await s.take(1))[0]).toMatchObject({ type: "error", error: { code: "PERMISSION_DENIED" } });
    const [moved] = await s.take("q");
    expect(moved).toMatchObject({ type: "snapshot", initial: true });
    expect(moved.changes.map((c: any) => c.doc.id)).toEqual(["blue1"]);
    s.ws.close();
  });
});

describe("sockets lose their credentials", () => {
  it("a socket opened with a key that is then revoked is closed within seconds", async () => {
    await api("PUT", "/v1/docs/sock/a", { n: 1 });
    const k = await createKey("client");
    const s = await open("", offering(k.key));
    s.send({ op: "listen", id: 1, doc: "sock/a" });
    expect((await s.take(1))[0]).toMatchObject({ type: "snapshot" });
    // Still up after a few re-checks while the key is valid.
    await sleep(SOCKET_RECHECK_MS + 500);
    expect(s.closed()).toBeNull();
    await revokeApiKey(metaDatabase(env), k.id);
    const revokedAt = Date.now();
    const { at } = await s.refused(AUTH_CACHE_TTL_MS + SOCKET_RECHECK_MS + 3000);
    expect(at - revokedAt).toBeLessThanOrEqual(AUTH_CACHE_TTL_MS + SOCKET_RECHECK_MS + 1000);
  }, 20_000);

  it("a key given in the first message, then revoked, closes the socket too", async () => {
    const k = await createKey("client");
    const s = await open();
    s.send({ op: "auth", key: k.key });
    expect(await s.authAnswer()).toMatchObject({ uid: null, expiresAt: null });
    await revokeApiKey(metaDatabase(env), k.id);
    await s.refused(AUTH_CACHE_TTL_MS + SOCKET_RECHECK_MS + 3000);
  }, 20_000);

  it("an anonymous socket stays open", async () => {
    const s = await open("");
    await sleep(SOCKET_RECHECK_MS + 500);
    expect(s.closed()).toBeNull();
    s.ws.close();
  });
});

describe("the SDK on the listen socket", () => {
  /** A database whose listen socket goes through the Worker; records the URLs it opened and the frames it sent. */
  function sdk(token: Parameters<typeof initializeBlaze>[0]["token"], key?: string) {
    const urls: string[] = [];
    const sent: any[] = [];
    const db = initializeBlaze({
      url: BASE,
      key,
      token,
      fetch: (req) => exports.default.fetch(req),
      webSocket: async (url) => {
        urls.push(url);
        const res = await exports.default.fetch(new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } }));
        const ws = res.webSocket!;
        ws.accept();
        const send = ws.send.bind(ws);
        ws.send = (data: string) => (sent.push(JSON.parse(data)), send(data));
        return ws as unknown as SocketLike;
      },
    });
    return { db, urls, sent };
  }

  it("sends the credentials as the first message, never in the URL, and refreshes the token before it expires: the listener lives on", async () => {
    await adminPut("sec_tasks/sdk1", { owner: "sdk-user", v: 1 });
    const k = await createKey("client");
    const issued: string[] = [];
    // Each token expires 4 s after it is issued (by the local clock, which the SDK reads).
    const { db, urls, sent } = sdk(async () => {
      issued.push(await testJwt("sdk-user", {}, Math.floor(Date.now() / 1000) + 4));
      return issued.at(-1)!;
    }, k.key);
    const seen: number[] = [];
    const errors: unknown[] = [];
    const stop = onSnapshot(doc(db, "sec_tasks/sdk1"), (s) => seen.push(s.data()!.v as number), (e) => errors.push(e));
    await eventually(async () => seen.length === 1);
    expect(sent[0]).toEqual({ op: "auth", key: k.key, token: issued[0] });
    expect(sent[1]).toMatchObject({ op: "listen", doc: "sec_tasks/sdk1" });
    // Two refreshes, each about 2 s after its token was issued (half its life: it is short).
    await eventually(async () => sent.filter((f) => f.op === "auth").length >= 3, 8000);
    expect(sent.filter((f) => f.op === "auth").slice(1)).toEqual([
      { op: "auth", token: issued[1] },
      { op: "auth", token: issued[2] },
    ]);
    await adminPut("sec_tasks/sdk1", { owner: "sdk-user", v: 2 });
    await eventually(async () => seen.includes(2));
    expect(errors).toEqual([]);
    expect(urls).toEqual([`${BASE.replace(/^http/, "ws")}/v1/listen`]);
    stop();
    await terminate(db);
  }, 20_000);

  it("a token that expires without a fresher one ends the listener with unauthenticated", async () => {
    await adminPut("sec_tasks/sdk2", { owner: "sdk-user2" });
    const { db } = sdk(await testJwt("sdk-user2", {}, expiringIn(2)));
    const error = await new Promise<any>((resolve) => onSnapshot(doc(db, "sec_tasks/sdk2"), () => {}, resolve));
    expect(error).toMatchObject({ code: "unauthenticated", name: "FirebaseError" });
    await terminate(db);
  }, 15_000);
});
