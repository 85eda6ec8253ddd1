import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import type { AuthMessage } from "./protocol";
import { ListenRelay, MAX_LISTENERS_PER_CLIENT, type Upstream } from "./relay";

/** A fake upstream per shard that records frames and can be fed or cut. */
class FakeUpstream implements Upstream {
  sent: unknown[] = [];
  closed = false;
  private message: (d: string) => void = () => {};
  private end: () => void = () => {};
  send(data: string) {
    if (this.closed) throw new Error("closed");
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  onMessage(cb: (d: string) => void) {
    this.message = cb;
  }
  onClose(cb: () => void) {
    this.end = cb;
  }
  push(m: unknown) {
    this.message(JSON.stringify(m));
  }
  cut() {
    this.closed = true;
    this.end();
  }
}

/** The socket's caller as the fakes see it; tests change it and say how an auth message is judged. */
interface FakeCaller {
  authenticated: boolean;
  /** The live-query key a query resolves to under the current caller (the rules' filter). */
  queryKey: string;
  /** Query listens are refused under the current caller. */
  denyQueries: boolean;
  /** How the next auth message is judged: the new caller's uid, or an error. */
  judge: (msg: AuthMessage, listened: boolean) => string | BlazeError;
}

function setup(caller: Partial<FakeCaller> = {}) {
  const state: FakeCaller = { authenticated: false, queryKey: "k1", denyQueries: false, judge: () => "u1", ...caller };
  const authCalls: [AuthMessage, boolean][] = [];
  const toClient: any[] = [];
  const clientCloses: unknown[][] = [];
  const upstreams = new Map<number | string, FakeUpstream[]>();
  const relay = new ListenRelay(
    { send: (d) => toClient.push(JSON.parse(d)), close: (...a) => clientCloses.push(a) },
    {
      // The shard is the path's first letter's code mod 4.
      shardOf: (path) => path.charCodeAt(path.indexOf("/") + 1) % 4,
      resolveQuery: async (query) => {
        if ((query as { bad?: boolean }).bad) throw new BlazeError("INVALID_ARGUMENT", "bad query");
        if (state.denyQueries) throw new BlazeError("PERMISSION_DENIED", "not yours");
        return { key: state.queryKey, query: { ...(query as object), resolved: true } };
      },
      authenticate: async (msg, listened) => {
        authCalls.push([msg, listened]);
        await new Promise((r) => setTimeout(r, 5));
        const verdict = state.judge(msg, listened);
        if (verdict instanceof BlazeError) throw verdict;
        state.authenticated = true;
        return { auth: { role: "client", keyId: null, user: { uid: verdict, token: { sub: verdict } } }, uid: verdict, expiresAt: 123 };
      },
      authenticated: () => state.authenticated,
      connect: async (target) => {
        const u = new FakeUpstream();
        const shard = target.startsWith("shard:") ? Number(target.slice(6)) : target;
        upstreams.set(shard, [...(upstreams.get(shard) ?? []), u]);
        return u;
      },
    },
  );
  const send = (m: unknown) => relay.fromClient(JSON.stringify(m));
  const settle = (ms = 0) => new Promise((r) => setTimeout(r, ms));
  const sentTo = (target: number | string) => (upstreams.get(target) ?? []).flatMap((u) => u.sent);
  return { relay, toClient, clientCloses, upstreams, send, settle, state, authCalls, sentTo };
}

describe("ListenRelay", () => {
  it("fail(): the client gets the error with id null, its socket and every upstream close, later frames are ignored", async () => {
    const { relay, toClient, clientCloses, upstreams, send, settle } = setup();
    send({ op: "listen", id: 1, doc: "c/a" });
    send({ op: "listen", id: 2, doc: "c/b" });
    await settle();
    relay.fail(new BlazeError("UNAUTHENTICATED", "API key k1 was revoked"));
    await settle();
    expect(toClient).toEqual([{ id: null, type: "error", error: { code: "UNAUTHENTICATED", message: "API key k1 was revoked" } }]);
    expect(clientCloses).toEqual([[1008, "UNAUTHENTICATED"]]);
    expect([...upstreams.values()].flat().every((u) => u.closed)).toBe(true);
    send({ op: "listen", id: 3, doc: "c/c" });
    relay.fail(new BlazeError("UNAUTHENTICATED", "again"));
    await settle();
    expect(toClient).toHaveLength(1);
    expect(relay.listenerCount).toBe(0);
  });

  it("answers a ping with a pong itself, forwarding nothing; a listener's upstream never sees pings", async () => {
    const { upstreams, send, settle, toClient } = setup();
    send({ op: "listen", id: 1, doc: "u/a" });
    await settle();
    send({ op: "ping" });
    await settle();
    expect(toClient).toEqual([{ type: "pong" }]);
    expect([...upstreams.values()].flat().flatMap((u) => u.sent)).toEqual([{ op: "listen", id: 1, doc: "u/a" }]);
  });

  it("opens one upstream per shard and routes each listen and unlisten to its shard", async () => {
    const { upstreams, send, settle, relay } = setup();
    send({ op: "listen", id: 1, doc: "c/a" }); // 'a' = 97 -> shard 1
    send({ op: "listen", id: 2, doc: "c/b" }); // shard 2
    send({ op: "listen", id: 3, doc: "c/e" }); // 101 -> shard 1
    send({ op: "unlisten", id: 1 });
    await settle();
    expect([...upstreams.keys()].sort()).toEqual([1, 2]);
    expect(upstreams.get(1)![0].sent).toEqual([
      { op: "listen", id: 1, doc: "c/a" },
      { op: "listen", id: 3, doc: "c/e" },
      { op: "unlisten", id: 1 },
    ]);
    expect(upstreams.get(2)![0].sent).toEqual([{ op: "listen", id: 2, doc: "c/b" }]);
    expect(relay.listenerCount).toBe(2);
  });

  it("passes upstream messages through unchanged", async () => {
    const { upstreams, send, settle, toClient } = setup();
    send({ op: "listen", id: "x", doc: "c/a" });
    await settle();
    const snapshot = { id: "x", type: "snapshot", changes: [], resume: "1:5", initial: true };
    upstreams.get(1)![0].push(snapshot);
    expect(toClient).toEqual([snapshot]);
  });

  it("answers bad frames on that listener or with id null, and keeps going", async () => {
    const { send, settle, toClient, relay, upstreams } = setup();
    relay.fromClient("{not json");
    send({ op: "listen", id: 7, doc: "c" });
    send({ op: "dance", id: 8 });
    send({ op: "listen", id: 9, query: { bad: true } });
    send({ op: "listen", id: 10, doc: "c/a" });
    send({ op: "listen", id: 10, doc: "c/b" });
    await settle();
    expect(toClient.map((m) => [m.id, m.error.code])).toEqual([
      [null, "INVALID_ARGUMENT"],
      [7, "INVALID_ARGUMENT"],
      [8, "INVALID_ARGUMENT"],
      [10, "ALREADY_EXISTS"],
      [9, "INVALID_ARGUMENT"],
    ]);
    expect(upstreams.get(1)![0].sent).toEqual([{ op: "listen", id: 10, doc: "c/a" }]);
  });

  it("sends a query listener to its live-query object once the query is checked, with the resolved query (rules applied), not the client's", async () => {
    const { send, settle, upstreams, relay } = setup();
    send({ op: "listen", id: "q", query: { from: { collection: "c" } } });
    send({ op: "listen", id: "gone", query: { from: { collection: "c" } } });
    send({ op: "unlisten", id: "gone" });
    await settle();
    await settle();
    expect(upstreams.get("query:k1")![0].sent).toEqual([{ op: "listen", id: "q", query: { from: { collection: "c" }, resolved: true } }]);
    expect(relay.listenerCount).toBe(1);
  });

  it("frees an id the shard refused", async () => {
    const { send, settle, upstreams, relay } = setup();
    send({ op: "listen", id: 1, doc: "c/a", resume: "9:1" });
    await settle();
    upstreams.get(1)![0].push({ id: 1, type: "error", error: { code: "INVALID_ARGUMENT", message: "resume token from another shard" } });
    expect(relay.listenerCount).toBe(0);
    send({ op: "listen", id: 1, doc: "c/a" });
    expect(relay.listenerCount).toBe(1);
  });

  it("tells each listener of a lost upstream to listen again, and reconnects on the next listen", async () => {
    const { send, settle, upstreams, toClient, relay } = setup();
    send({ op: "listen", id: 1, doc: "c/a" });
    send({ op: "listen", id: 2, doc: "c/e" });
    send({ op: "listen", id: 3, doc: "c/b" });
    await settle();
    upstreams.get(1)![0].cut();
    expect(toClient.map((m) => [m.id, m.error.code])).toEqual([
      [1, "UNAVAILABLE"],
      [2, "UNAVAILABLE"],
    ]);
    expect(relay.listenerCount).toBe(1);
    send({ op: "listen", id: 1, doc: "c/a", resume: "1:4" });
    await settle();
    expect(upstreams.get(1)).toHaveLength(2);
    expect(upstreams.get(1)![1].sent).toEqual([{ op: "listen", id: 1, doc: "c/a", resume: "1:4" }]);
  });

  it("caps listeners per socket and closes every upstream when the client goes", async () => {
    const { send, settle, upstreams, toClient, relay } = setup();
    for (let i = 0; i < MAX_LISTENERS_PER_CLIENT; i++) send({ op: "listen", id: i, doc: `c/d${i}` });
    send({ op: "listen", id: "one-too-many", doc: "c/a" });
    expect(toClient.at(-1)).toMatchObject({ id: "one-too-many", error: { code: "RESOURCE_EXHAUSTED" } });
    await settle();
    relay.close();
    await settle();
    expect([...upstreams.values()].flat().every((u) => u.closed)).toBe(true);
  });
});

describe("ListenRelay: credentials on the socket", () => {
  const user = (uid: string) => ({ role: "client", keyId: null, user: { uid, token: { sub: uid } } });
  const expired = new BlazeError("UNAUTHENTICATED", "JWT expired");

  it("an auth message is judged before the frames after it, never forwarded; the shards then hear the new caller", async () => {
    const { send, settle, toClient, authCalls, sentTo } = setup();
    send({ op: "auth", token: "jwt-1" });
    send({ op: "listen", id: 1, doc: "c/a" });
    await settle(20);
    expect(authCalls).toEqual([[{ op: "auth", token: "jwt-1" }, false]]);
    expect(toClient).toEqual([{ type: "auth", uid: "u1", expiresAt: 123 }]);
    // The listen went on only after the verdict; the link opened then, under the new caller already.
    expect(sentTo(1)).toEqual([{ op: "listen", id: 1, doc: "c/a" }]);
    send({ op: "auth", token: "jwt-2" });
    await settle(20);
    expect(authCalls[1]).toEqual([{ op: "auth", token: "jwt-2" }, true]);
    expect(sentTo(1)).toEqual([{ op: "listen", id: 1, doc: "c/a" }, { op: "caller", auth: user("u1") }]);
  });

  it("frames queued behind an auth message keep their order, a second auth message included", async () => {
    const { send, settle, authCalls, sentTo } = setup();
    send({ op: "auth", token: "a" });
    send({ op: "listen", id: 1, doc: "c/a" });
    send({ op: "auth", token: "b" });
    send({ op: "listen", id: 2, doc: "c/e" });
    await settle(40);
    expect(authCalls.map(([m]) => m.token)).toEqual(["a", "b"]);
    expect(sentTo(1)).toEqual([
      { op: "listen", id: 1, doc: "c/a" },
      { op: "caller", auth: user("u1") },
      { op: "listen", id: 2, doc: "c/e" },
    ]);
  });

  it("refused first credentials end the socket (never anonymous); the frames behind them go nowhere", async () => {
    const { send, settle, toClient, clientCloses, upstreams } = setup({ judge: () => new BlazeError("UNAUTHENTICATED", "invalid API key k") });
    send({ op: "auth", key: "blz_client_bad" });
    send({ op: "listen", id: 1, doc: "c/a" });
    await settle(20);
    expect(toClient).toEqual([{ id: null, type: "error", error: { code: "UNAUTHENTICATED", message: "invalid API key k" } }]);
    expect(clientCloses).toEqual([[1008, "UNAUTHENTICATED"]]);
    expect(upstreams.size).toBe(0);
  });

  it("a refused refresh leaves the socket as it was: an error with id null, listeners kept", async () => {
    const { send, settle, toClient, clientCloses, state, relay, sentTo } = setup({ authenticated: true });
    send({ op: "listen", id: 1, doc: "c/a" });
    state.judge = () => new BlazeError("FAILED_PRECONDITION", "a socket's caller cannot change");
    send({ op: "auth", token: "someone-else" });
    send({ op: "listen", id: 2, doc: "c/e" });
    await settle(20);
    expect(toClient).toEqual([{ id: null, type: "error", error: { code: "FAILED_PRECONDITION", message: "a socket's caller cannot change" } }]);
    expect(clientCloses).toEqual([]);
    expect(relay.listenerCount).toBe(2);
    expect(sentTo(1)).toEqual([
      { op: "listen", id: 1, doc: "c/a" },
      { op: "listen", id: 2, doc: "c/e" },
    ]);
  });

  it("a new caller resolves the query listeners again: the same object keeps them, another takes them over, a refusal ends them", async () => {
    const { send, settle, toClient, state, sentTo, relay } = setup({ authenticated: true });
    send({ op: "listen", id: "q", query: { from: { collection: "c" } } });
    await settle(5);
    const listen = { op: "listen", id: "q", query: { from: { collection: "c" }, resolved: true } };
    expect(sentTo("query:k1")).toEqual([listen]);
    send({ op: "auth", token: "same-filter" });
    await settle(20);
    expect(sentTo("query:k1")).toEqual([listen]);
    state.queryKey = "k2";
    send({ op: "auth", token: "other-filter" });
    await settle(20);
    expect(sentTo("query:k1")).toEqual([listen, { op: "unlisten", id: "q" }]);
    expect(sentTo("query:k2")).toEqual([listen]);
    state.denyQueries = true;
    send({ op: "auth", token: "no-longer-allowed" });
    await settle(20);
    expect(sentTo("query:k2")).toEqual([listen, { op: "unlisten", id: "q" }]);
    expect(toClient.filter((m) => m.type === "error")).toEqual([{ id: "q", type: "error", error: { code: "PERMISSION_DENIED", message: "not yours" } }]);
    expect(relay.listenerCount).toBe(0);
  });

  it("expire(): every listener ends UNAUTHENTICATED and is unlistened upstream; the socket stays, listens are refused until a fresh token", async () => {
    const { send, settle, toClient, clientCloses, relay, sentTo } = setup({ authenticated: true });
    send({ op: "listen", id: 1, doc: "c/a" });
    send({ op: "listen", id: "q", query: { from: { collection: "c" } } });
    await settle(5);
    relay.expire(expired);
    await settle();
    expect(toClient).toEqual([
      { id: 1, type: "error", error: { code: "UNAUTHENTICATED", message: "JWT expired" } },
      { id: "q", type: "error", error: { code: "UNAUTHENTICATED", message: "JWT expired" } },
    ]);
    expect(sentTo(1).at(-1)).toEqual({ op: "unlisten", id: 1 });
    expect(sentTo("query:k1").at(-1)).toEqual({ op: "unlisten", id: "q" });
    expect(clientCloses).toEqual([]);
    expect(relay.listenerCount).toBe(0);
    send({ op: "listen", id: 2, doc: "c/a" });
    expect(toClient.at(-1)).toEqual({ id: 2, type: "error", error: { code: "UNAUTHENTICATED", message: "JWT expired" } });
    send({ op: "auth", token: "fresh" });
    send({ op: "listen", id: 2, doc: "c/a" });
    await settle(20);
    expect(toClient.at(-1)).toEqual({ type: "auth", uid: "u1", expiresAt: 123 });
    expect(sentTo(1).at(-1)).toEqual({ op: "listen", id: 2, doc: "c/a" });
    expect(relay.listenerCount).toBe(1);
  });

  it("a query listener still being checked when the JWT expires is never placed", async () => {
    const { send, settle, toClient, relay, upstreams } = setup({ authenticated: true });
    send({ op: "listen", id: "q", query: { from: { collection: "c" } } });
    relay.expire(expired);
    await settle(5);
    expect(toClient).toEqual([{ id: "q", type: "error", error: { code: "UNAUTHENTICATED", message: "JWT expired" } }]);
    expect(upstreams.size).toBe(0);
  });

  it("refuses a client's caller frame, and auth messages without credentials, as unknown or malformed", async () => {
    const { send, settle, toClient, upstreams, authCalls } = setup();
    send({ op: "caller", id: 1, auth: { role: "admin", keyId: "x" } });
    send({ op: "auth" });
    send({ op: "auth", token: 42 });
    await settle();
    expect(toClient.map((m) => [m.id, m.error.code])).toEqual([
      [1, "INVALID_ARGUMENT"],
      [null, "UNAUTHENTICATED"],
      [null, "UNAUTHENTICATED"],
    ]);
    expect(upstreams.size).toBe(0);
    expect(authCalls).toEqual([]);
  });
});
