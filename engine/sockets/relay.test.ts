import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
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

function setup() {
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
        return { key: "k1", query: { ...(query as object), resolved: true } };
      },
      connect: async (target) => {
        const u = new FakeUpstream();
        const shard = target.startsWith("shard:") ? Number(target.slice(6)) : target;
        upstreams.set(shard, [...(upstreams.get(shard) ?? []), u]);
        return u;
      },
    },
  );
  const send = (m: unknown) => relay.fromClient(JSON.stringify(m));
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { relay, toClient, clientCloses, upstreams, send, settle };
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
