/** The SDK's write path against a fake server: keys, retries of `unavailable`, the offline queue and its order. */
import { describe, expect, it } from "vitest";
import { deleteDoc, doc, increment, initializeBlaze, setDoc, terminate, updateDoc } from "blaze/sdk";
import { MUTATION_ATTEMPTS, newIdempotencyKey } from "./mutations";

interface Seen {
  method: string;
  path: string;
  key: string | null;
  body: string;
}

/** A fake server: `offline` makes every fetch fail; `answer` picks each response. */
function setup() {
  const seen: Seen[] = [];
  const state = {
    offline: false,
    answer: (_s: Seen): Response => Response.json({ path: "x", version: 1, updateTime: "t", token: "0:1" }),
  };
  const db = initializeBlaze({
    url: "http://blaze.test",
    fetch: async (req) => {
      if (state.offline) throw new TypeError("fetch failed");
      const s = { method: req.method, path: new URL(req.url).pathname, key: req.headers.get("Idempotency-Key"), body: await req.text() };
      seen.push(s);
      return state.answer(s);
    },
  });
  return { db, seen, state };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("writes", () => {
  it("keys are UUID v4, also where crypto.randomUUID is missing", () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(newIdempotencyKey()).toMatch(uuid);
    const original = crypto.randomUUID;
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
    try {
      const keys = Array.from({ length: 50 }, newIdempotencyKey);
      for (const k of keys) expect(k).toMatch(uuid);
      expect(new Set(keys).size).toBe(50);
    } finally {
      Object.defineProperty(crypto, "randomUUID", { value: original, configurable: true });
    }
  });

  it("a server UNAVAILABLE is retried with the same key, then reaches the app after MUTATION_ATTEMPTS", async () => {
    const { db, seen, state } = setup();
    let failures = 2;
    state.answer = () => (failures-- > 0 ? Response.json({ error: { code: "UNAVAILABLE", message: "shard lost" } }, { status: 503 }) : Response.json({}));
    await setDoc(doc(db, "c/a"), { n: 1 });
    expect(seen.length).toBe(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);

    seen.length = 0;
    failures = 100;
    await expect(setDoc(doc(db, "c/a"), { n: 1 })).rejects.toMatchObject({ code: "unavailable" });
    expect(seen.length).toBe(MUTATION_ATTEMPTS);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
  });

  it("other errors are not retried", async () => {
    const { db, seen, state } = setup();
    state.answer = () => Response.json({ error: { code: "NOT_FOUND", message: "no document" } }, { status: 404 });
    await expect(updateDoc(doc(db, "c/a"), { n: 1 })).rejects.toMatchObject({ code: "not-found" });
    expect(seen.length).toBe(1);
  });

  it("writes made offline wait in memory and go out in order, each once, with their keys, when the server is back", async () => {
    const { db, seen, state } = setup();
    state.offline = true;
    const settled: string[] = [];
    const writes = [
      setDoc(doc(db, "c/a"), { n: 0 }).then(() => settled.push("set")),
      updateDoc(doc(db, "c/a"), { n: increment(1) }).then(() => settled.push("update")),
      deleteDoc(doc(db, "c/b")).then(() => settled.push("delete")),
    ];
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toEqual([]);
    state.offline = false;
    await Promise.all(writes);
    expect(settled).toEqual(["set", "update", "delete"]);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(["PUT /v1/docs/c/a", "PATCH /v1/docs/c/a", "DELETE /v1/docs/c/b"]);
    expect(new Set(seen.map((s) => s.key)).size).toBe(3);
    // Online again: a write goes straight out.
    await setDoc(doc(db, "c/z"), { n: 1 });
    expect(seen.length).toBe(4);
  });

  it("a write made while others wait goes behind them even if the server is back", async () => {
    const { db, seen, state } = setup();
    state.offline = true;
    const first = setDoc(doc(db, "c/a"), { n: 1 });
    await new Promise((r) => setTimeout(r, 20));
    state.offline = false;
    const second = setDoc(doc(db, "c/a"), { n: 2 });
    await Promise.all([first, second]);
    expect(seen.map((s) => JSON.parse(s.body).n)).toEqual([1, 2]);
  });

  it("a queued write the server refuses fails alone; the ones behind it still go", async () => {
    const { db, seen, state } = setup();
    state.offline = true;
    const a = setDoc(doc(db, "c/a"), { n: 1 });
    const b = updateDoc(doc(db, "c/missing"), { n: 1 });
    const c = setDoc(doc(db, "c/c"), { n: 1 });
    state.answer = (s) => (s.path.endsWith("missing") ? Response.json({ error: { code: "NOT_FOUND", message: "no document" } }, { status: 404 }) : Response.json({}));
    state.offline = false;
    await a;
    await expect(b).rejects.toMatchObject({ code: "not-found" });
    await c;
    expect(seen.map((s) => s.path)).toEqual(["/v1/docs/c/a", "/v1/docs/c/missing", "/v1/docs/c/c"]);
  });

  it("an answer lost while draining is sent again with the same key", async () => {
    const { db, seen, state } = setup();
    state.offline = true;
    const a = setDoc(doc(db, "c/a"), { n: 1 });
    let lose = 1;
    state.answer = () => {
      if (lose-- > 0) throw new TypeError("connection reset");
      return Response.json({});
    };
    state.offline = false;
    await a;
    expect(seen.length).toBe(2);
    expect(seen[0].key).toBe(seen[1].key);
  });

  it("terminate fails the writes still waiting", async () => {
    const { db, state } = setup();
    state.offline = true;
    const a = setDoc(doc(db, "c/a"), { n: 1 });
    await until(() => db._writes !== null);
    await terminate(db);
    await expect(a).rejects.toMatchObject({ code: "failed-precondition" });
  });
});
