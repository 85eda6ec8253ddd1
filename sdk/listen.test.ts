/** The listen socket's protocol handling against a fake socket: reconnects, resume tokens, re-listens, per-listener errors. */
import { describe, expect, it, vi } from "vitest";
import { collection, doc, initializeBlaze, onSnapshot, query, setDoc, terminate, where, type DocumentSnapshot, type QuerySnapshot, type SocketLike } from "blaze/sdk";

class FakeSocket implements SocketLike {
  sent: any[] = [];
  closed = false;
  private handlers: Record<string, ((e: any) => void)[]> = {};
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  addEventListener(type: string, cb: (e: any) => void) {
    (this.handlers[type] ??= []).push(cb);
  }
  emit(msg: unknown) {
    for (const cb of this.handlers.message ?? []) cb({ data: JSON.stringify(msg) });
  }
  drop() {
    for (const cb of this.handlers.close ?? []) cb({});
  }
}

function setup(heartbeatMs?: number, fetch?: (req: Request) => Promise<Response>) {
  const sockets: FakeSocket[] = [];
  const db = initializeBlaze({
    url: "http://blaze.test",
    listenIdleMs: 10,
    heartbeatMs,
    fetch,
    webSocket: async () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
  });
  return { db, sockets };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

const wdoc = (path: string, version: number, data: object) => ({ path, id: path.split("/").pop(), data, version, createTime: "t", updateTime: `t${version}` });

describe("listen socket", () => {
  it("shares one socket, resumes documents from their token and re-listens queries after a drop", async () => {
    const { db, sockets } = setup();
    const docs: DocumentSnapshot[] = [];
    const qs: QuerySnapshot[] = [];
    onSnapshot(doc(db, "u/a"), (s) => docs.push(s));
    onSnapshot(query(collection(db, "u"), where("n", ">", 0)), (s) => qs.push(s));
    await until(() => sockets[0]?.sent.length === 2);
    expect(sockets.length).toBe(1);
    const [dl, ql] = sockets[0].sent;
    expect(dl).toEqual({ op: "listen", id: dl.id, doc: "u/a" });
    expect(ql).toEqual({ op: "listen", id: ql.id, query: { from: { collection: "u" }, where: ["n", ">", 0] } });

    sockets[0].emit({ id: dl.id, type: "snapshot", changes: [{ type: "added", doc: wdoc("u/a", 1, { n: 1 }), oldIndex: -1, newIndex: 0 }], resume: "3:7", initial: true });
    sockets[0].emit({ id: ql.id, type: "snapshot", initial: true, changes: [
      { type: "added", doc: wdoc("u/a", 1, { n: 1 }), oldIndex: -1, newIndex: 0 },
      { type: "added", doc: wdoc("u/b", 1, { n: 2 }), oldIndex: -1, newIndex: 1 },
    ] });
    expect(docs.map((d) => d.get("n"))).toEqual([1]);
    expect(qs[0].docs.map((d) => d.id)).toEqual(["a", "b"]);

    sockets[0].drop();
    await until(() => sockets[1]?.sent.length === 2, 3000);
    const again = sockets[1].sent;
    expect(again.find((m) => m.id === dl.id)).toEqual({ op: "listen", id: dl.id, doc: "u/a", resume: "3:7" });
    expect(again.find((m) => m.id === ql.id)).toEqual(ql);

    // Nothing missed by the document: an empty replay raises nothing.
    sockets[1].emit({ id: dl.id, type: "snapshot", changes: [], resume: "3:7" });
    expect(docs.length).toBe(1);
    // The query's fresh result is diffed against what the app holds.
    sockets[1].emit({ id: ql.id, type: "snapshot", initial: true, changes: [
      { type: "added", doc: wdoc("u/c", 1, { n: 0.5 }), oldIndex: -1, newIndex: 0 },
      { type: "added", doc: wdoc("u/a", 1, { n: 1 }), oldIndex: -1, newIndex: 1 },
    ] });
    expect(qs.length).toBe(2);
    expect(qs[1].docChanges().map((c) => `${c.type} ${c.doc.id} ${c.oldIndex}>${c.newIndex}`)).toEqual(["removed b 1>-1", "added c -1>0"]);
    // An identical fresh result raises nothing.
    sockets[1].drop();
    await until(() => sockets[2]?.sent.length === 2, 3000);
    sockets[2].emit({ id: ql.id, type: "snapshot", initial: true, changes: qs[1].docs.map((d, i) => ({ type: "added", doc: d._doc, oldIndex: -1, newIndex: i })) });
    expect(qs.length).toBe(2);
    await terminate(db);
    expect(sockets[2].closed).toBe(true);
  });

  it("re-listens after a listener-level UNAVAILABLE, ends the listener on other errors, and unlistens", async () => {
    const { db, sockets } = setup();
    const errors: unknown[] = [];
    const got: DocumentSnapshot[] = [];
    const stop = onSnapshot(doc(db, "u/a"), { next: (s) => got.push(s), error: (e) => errors.push(e) });
    await until(() => sockets[0]?.sent.length === 1);
    const id = sockets[0].sent[0].id;
    sockets[0].emit({ id, type: "snapshot", changes: [], resume: "1:4", initial: true });
    expect(got[0].exists()).toBe(false);
    sockets[0].emit({ id, type: "error", error: { code: "UNAVAILABLE", message: "lost the shard" } });
    await until(() => sockets[0].sent.length === 2);
    expect(sockets[0].sent[1]).toEqual({ op: "listen", id, doc: "u/a", resume: "1:4" });
    expect(errors).toEqual([]);
    stop();
    expect(sockets[0].sent[2]).toEqual({ op: "unlisten", id });
    // Frames for a listener that is gone are ignored.
    sockets[0].emit({ id, type: "snapshot", changes: [{ type: "added", doc: wdoc("u/a", 1, {}), oldIndex: -1, newIndex: 0 }], resume: "1:5" });
    expect(got.length).toBe(1);
    // The idle socket closes once no listener needs it.
    await until(() => sockets[0].closed);

    const q = onSnapshot(query(collection(db, "u")), { next: () => {}, error: (e) => errors.push(e) });
    await until(() => sockets[1]?.sent.length === 1);
    sockets[1].emit({ id: sockets[1].sent[0].id, type: "error", error: { code: "FAILED_PRECONDITION", message: "needs an index", details: { index: {} } } });
    expect(errors).toMatchObject([{ code: "failed-precondition", message: "needs an index", details: { index: {} } }]);
    q();
    await terminate(db);
  });
});

describe("listen socket heartbeat", () => {
  const pings = (s: FakeSocket) => s.sent.filter((m) => m.op === "ping").length;
  /** A document listener on a fresh socket; its listener id. */
  const listening = async (heartbeatMs: number) => {
    const { db, sockets } = setup(heartbeatMs);
    onSnapshot(doc(db, "u/a"), () => {});
    await until(() => sockets[0]?.sent.length === 1);
    return { db, sockets, id: sockets[0].sent[0].id };
  };

  it("pings a quiet socket and keeps it while pongs come back", async () => {
    const { db, sockets } = await listening(20);
    for (let i = 1; i <= 3; i++) {
      await until(() => pings(sockets[0]) === i);
      sockets[0].emit({ type: "pong" });
    }
    expect(sockets.length).toBe(1);
    expect(sockets[0].closed).toBe(false);
    await terminate(db);
  });

  it("any frame counts as a sign of life: a socket that keeps talking is never pinged", async () => {
    const { db, sockets, id } = await listening(30);
    const talk = setInterval(() => sockets[0].emit({ id, type: "snapshot", changes: [], resume: "1:1" }), 5);
    await new Promise((r) => setTimeout(r, 150));
    clearInterval(talk);
    expect(pings(sockets[0])).toBe(0);
    await terminate(db);
  });

  it("drops a socket whose ping goes unanswered and resumes its listeners on a new one", async () => {
    const { db, sockets, id } = await listening(20);
    sockets[0].emit({ id, type: "snapshot", changes: [], resume: "2:9", initial: true });
    // Silence: no close event ever comes, as when the network vanishes.
    await until(() => pings(sockets[0]) === 1);
    await until(() => sockets[0].closed && sockets.length === 2, 3000);
    await until(() => sockets[1].sent.length === 1);
    expect(sockets[1].sent[0]).toEqual({ op: "listen", id, doc: "u/a", resume: "2:9" });
    await terminate(db);
  });

  it("heartbeatMs: 0 turns it off", async () => {
    const { db, sockets } = await listening(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(pings(sockets[0])).toBe(0);
    expect(sockets.length).toBe(1);
    await terminate(db);
  });
});

describe("listen socket and the offline write queue", () => {
  it("a reconnect wakes the queue: a waiting write goes out at once, not at its next retry", async () => {
    // Backoffs at their longest, so the timings below are exact.
    const random = vi.spyOn(Math, "random").mockReturnValue(0.999);
    try {
      const net = { online: false, tries: 0 };
      const { db, sockets } = setup(undefined, async () => {
        net.tries++;
        if (!net.online) throw new TypeError("fetch failed");
        return Response.json({});
      });
      onSnapshot(doc(db, "u/a"), () => {});
      await until(() => sockets[0]?.sent.length === 1);
      const write = setDoc(doc(db, "u/b"), { n: 1 });
      // Tries at about 0 (the write, then the queue at once), 250 and 750 ms; the next would be at about 1,750 ms.
      await until(() => net.tries === 4);
      net.online = true;
      const dropped = Date.now();
      sockets[0].drop(); // reconnects after 250 ms
      await write;
      expect(Date.now() - dropped).toBeLessThan(700);
      expect(sockets.length).toBe(2);
      await terminate(db);
    } finally {
      random.mockRestore();
    }
  });
});

describe("listen socket credentials", () => {
  /** An unsigned JWT-shaped token whose payload says exp (the SDK reads it, the server would verify it). */
  const jwt = (sub: string, expInS: number, n = 0) =>
    `h.${btoa(JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + expInS, n })).replace(/=+$/, "")}.s`;

  function withToken(token: () => Promise<string | null>) {
    const sockets: FakeSocket[] = [];
    const urls: string[] = [];
    const db = initializeBlaze({
      url: "http://blaze.test",
      key: "blz_client_k_s",
      token,
      listenIdleMs: 10,
      heartbeatMs: 0,
      webSocket: async (url) => {
        urls.push(url);
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
    });
    return { db, sockets, urls };
  }

  it("authenticates in the first message, no credential in the URL, then sends a fresh token halfway through a short one's life", async () => {
    let n = 0;
    const { db, sockets, urls } = withToken(async () => jwt("u1", 2, n++));
    onSnapshot(doc(db, "u/a"), () => {});
    await until(() => sockets[0]?.sent.length === 2);
    expect(urls).toEqual(["ws://blaze.test/v1/listen"]);
    expect(sockets[0].sent[0]).toEqual({ op: "auth", key: "blz_client_k_s", token: expect.stringMatching(/^h\./) });
    expect(sockets[0].sent[1]).toMatchObject({ op: "listen", doc: "u/a" });
    await until(() => sockets[0].sent.length === 3, 2500);
    expect(sockets[0].sent[2]).toEqual({ op: "auth", token: expect.stringMatching(/^h\./) });
    expect(sockets[0].sent[2].token).not.toBe(sockets[0].sent[0].token);
    expect(sockets).toHaveLength(1);
    await terminate(db);
  });

  it("reconnects when the fresh token is refused for another user, when the user signed out, and when the token function fails", async () => {
    let next: () => Promise<string | null> = async () => jwt("u1", 600);
    const { db, sockets } = withToken(() => next());
    onSnapshot(doc(db, "u/a"), () => {});
    await until(() => sockets[0]?.sent.length === 2);
    // The server refuses a token for another user: listen again on a new socket.
    sockets[0].emit({ id: null, type: "error", error: { code: "FAILED_PRECONDITION", message: "a socket's caller cannot change" } });
    expect(sockets[0].closed).toBe(true);
    await until(() => sockets[1]?.sent.length === 2);
    expect(sockets[1].sent.map((m) => m.op)).toEqual(["auth", "listen"]);
    await terminate(db);

    // Signed out (the function answers null) or failing, at refresh time: reconnect.
    for (const answer of [async () => null, async () => Promise.reject(new Error("idp down"))]) {
      next = async () => jwt("u1", 2);
      const t = withToken(() => next());
      onSnapshot(doc(t.db, "u/a"), () => {});
      await until(() => t.sockets[0]?.sent.length === 2);
      next = answer;
      await until(() => t.sockets[0].closed, 2500);
      await terminate(t.db);
    }
  });

  it("a string token is sent as it is, and not refreshed", async () => {
    const sockets: FakeSocket[] = [];
    const token = jwt("u1", 1);
    const db = initializeBlaze({ url: "http://blaze.test", token, heartbeatMs: 0, webSocket: async () => (sockets.push(new FakeSocket()), sockets.at(-1)!) });
    const errors: any[] = [];
    onSnapshot(doc(db, "u/a"), () => {}, (e) => errors.push(e));
    await until(() => sockets[0]?.sent.length === 2);
    expect(sockets[0].sent[0]).toEqual({ op: "auth", token });
    await new Promise((r) => setTimeout(r, 800));
    expect(sockets[0].sent).toHaveLength(2);
    // The server ends the listener when the token expires: the app sees unauthenticated.
    sockets[0].emit({ id: sockets[0].sent[1].id, type: "error", error: { code: "UNAUTHENTICATED", message: "JWT expired" } });
    expect(errors.map((e) => e.code)).toEqual(["unauthenticated"]);
    await terminate(db);
  });
});
