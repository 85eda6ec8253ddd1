import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminHeaders, api, BASE, pathsOnDistinctShards, shardFor } from "./helpers";

/** Opens /v1/listen through the real Worker and collects server messages (`doc=`/`shard=`, the internal routes, with an admin key). */
async function connect(query: string) {
  const auth = query === "" ? {} : await adminHeaders();
  const res = await exports.default.fetch(new Request(`${BASE}/v1/listen?${query}`, { headers: { Upgrade: "websocket", ...auth } }));
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: any[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    messages.push(JSON.parse(e.data as string));
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (count = 1, timeoutMs = 3000) => {
    const end = Date.now() + timeoutMs;
    while (messages.length < count) {
      if (Date.now() > end) throw new Error(`expected ${count} messages, got ${messages.length}: ${JSON.stringify(messages)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return messages.splice(0, count);
  };
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  return { ws, next, send, messages };
}

describe("document listeners", () => {
  it("listen to documents whose ids hold any UTF-8 (NUL, spaces, emoji)", async () => {
    const path = "rooms/\u0000 ü🙂/sub/%x";
    const url = `/v1/docs/${path.split("/").map(encodeURIComponent).join("/")}`;
    await api("PUT", url, { n: 1 });
    const c = await connect(`doc=${encodeURIComponent(path)}`);
    c.send({ op: "listen", id: 1, doc: path });
    const [first] = await c.next();
    expect(first.changes[0].doc).toMatchObject({ path, data: { n: 1 } });
    await api("PATCH", url, { n: 2 });
    const [second] = await c.next();
    expect(second.changes[0].doc).toMatchObject({ path, data: { n: 2 } });
    c.ws.close();
  });

  it("sends the snapshot first, then every change in commit order", async () => {
    await api("PUT", "/v1/docs/rooms/r1", { n: 0 });
    const c = await connect("doc=rooms/r1");
    c.send({ op: "listen", id: 1, doc: "rooms/r1" });
    const [first] = await c.next();
    expect(first).toMatchObject({ id: 1, type: "snapshot", initial: true });
    expect(first.changes).toEqual([expect.objectContaining({ type: "added", oldIndex: -1, newIndex: 0 })]);
    expect(first.changes[0].doc.data).toEqual({ n: 0 });

    for (let i = 1; i <= 20; i++) await api("PATCH", "/v1/docs/rooms/r1", { n: i });
    await api("DELETE", "/v1/docs/rooms/r1");
    await api("PUT", "/v1/docs/rooms/r1", { n: 99 });
    const updates = await c.next(22);
    expect(updates.slice(0, 20).map((m) => m.changes[0].doc.data.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(updates.slice(0, 20).every((m) => m.changes[0].type === "modified")).toBe(true);
    expect(updates[20].changes[0]).toMatchObject({ type: "removed", oldIndex: 0, newIndex: -1 });
    expect(updates[21].changes[0]).toMatchObject({ type: "added", doc: { data: { n: 99 } } });
    const seqs = updates.map((m) => Number(m.resume.split(":")[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    c.ws.close();
  });

  it("a missing document gives an empty snapshot, then added", async () => {
    const c = await connect("doc=rooms/nothing");
    c.send({ op: "listen", id: "a", doc: "rooms/nothing" });
    expect((await c.next())[0]).toMatchObject({ id: "a", type: "snapshot", changes: [] });
    await api("PUT", "/v1/docs/rooms/nothing", { now: 1 });
    expect((await c.next())[0].changes[0].type).toBe("added");
    c.ws.close();
  });

  it("resume replays exactly the missed changes", async () => {
    await api("PUT", "/v1/docs/rooms/r2", { n: 0 });
    const c1 = await connect("doc=rooms/r2");
    c1.send({ op: "listen", id: 1, doc: "rooms/r2" });
    const [snap] = await c1.next();
    await api("PATCH", "/v1/docs/rooms/r2", { n: 1 });
    const [m1] = await c1.next();
    c1.ws.close();
    // Missed while disconnected:
    await api("PATCH", "/v1/docs/rooms/r2", { n: 2 });
    await api("PATCH", "/v1/docs/rooms/r2", { n: 3 });
    const c2 = await connect("doc=rooms/r2");
    c2.send({ op: "listen", id: 1, doc: "rooms/r2", resume: m1.resume });
    // One message per missed change, each with its own resume token.
    const replay = await c2.next(2);
    expect(replay.every((m) => m.initial === undefined)).toBe(true);
    expect(replay.map((m) => m.changes[0].doc.data.n)).toEqual([2, 3]);
    const seqOf = (m: any) => Number(m.resume.split(":")[1]);
    expect(seqOf(replay[0])).toBeGreaterThan(seqOf(snap));
    expect(seqOf(replay[1])).toBeGreaterThan(seqOf(replay[0]));
    await api("PATCH", "/v1/docs/rooms/r2", { n: 4 });
    expect((await c2.next())[0].changes[0].doc.data.n).toBe(4);
    c2.ws.close();
  });

  it("a resume token older than the log gives a fresh snapshot flagged as such", async () => {
    await api("PUT", "/v1/docs/rooms/r3", { n: 1 });
    const c = await connect("doc=rooms/r3");
    const shard = shardFor("rooms/r3");
    c.send({ op: "listen", id: 1, doc: "rooms/r3", resume: `${shard}:999999999` });
    const [m] = await c.next();
    expect(m).toMatchObject({ fresh: true, initial: true });
    expect(m.changes[0].doc.data).toEqual({ n: 1 });
    c.ws.close();
  });

  it("unlisten stops the changes", async () => {
    await api("PUT", "/v1/docs/rooms/r4", { n: 1 });
    const c = await connect("doc=rooms/r4");
    c.send({ op: "listen", id: 7, doc: "rooms/r4" });
    await c.next();
    c.send({ op: "unlisten", id: 7 });
    c.send({ op: "listen", id: 8, doc: "rooms/r4" });
    await c.next();
    await api("PATCH", "/v1/docs/rooms/r4", { n: 2 });
    const [m] = await c.next();
    expect(m.id).toBe(8);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages).toHaveLength(0);
    c.ws.close();
  });

  it("answers bad messages with errors and keeps the socket", async () => {
    const c = await connect("shard=0");
    c.ws.send("not json");
    expect((await c.next())[0]).toMatchObject({ type: "error", error: { code: "INVALID_ARGUMENT" } });
    c.send({ op: "dance", id: 1 });
    expect((await c.next())[0]).toMatchObject({ id: 1, type: "error", error: { code: "INVALID_ARGUMENT" } });
    c.send({ op: "listen", id: 2, doc: "notadoc" });
    expect((await c.next())[0]).toMatchObject({ id: 2, type: "error", error: { code: "INVALID_ARGUMENT" } });
    c.send({ op: "listen", id: 3, query: { from: { collection: "x" } } });
    expect((await c.next())[0]).toMatchObject({ id: 3, type: "error", error: { code: "FAILED_PRECONDITION" } });
    let other = "x/0";
    for (let i = 0; shardFor(other) === 0; i++) other = `x/${i}`;
    c.send({ op: "listen", id: 4, doc: other });
    const [wrong] = await c.next();
    expect(wrong).toMatchObject({ id: 4, type: "error", error: { code: "FAILED_PRECONDITION", details: { shard: shardFor(other) } } });
    c.ws.close();
  });

  it("rejects a bad listen URL", async () => {
    const res = await api("GET", "/v1/listen?shard=99999", undefined, { Upgrade: "websocket", ...(await adminHeaders()) });
    expect(res.status).toBe(400);
    const plain = await api("GET", "/v1/listen");
    expect(plain.status).toBe(412);
  });

  it("a resume with nothing missed is confirmed; a long replay spans pages", async () => {
    await api("PUT", "/v1/docs/rooms/r5", { n: 0 });
    const c1 = await connect("doc=rooms/r5");
    c1.send({ op: "listen", id: 1, doc: "rooms/r5" });
    const [snap] = await c1.next();
    c1.ws.close();
    const c2 = await connect("doc=rooms/r5");
    c2.send({ op: "listen", id: 1, doc: "rooms/r5", resume: snap.resume });
    expect((await c2.next())[0]).toMatchObject({ id: 1, type: "snapshot", changes: [] });
    c2.ws.close();
    for (let i = 1; i <= 230; i++) await api("PATCH", "/v1/docs/rooms/r5", { n: i });
    const c3 = await connect("doc=rooms/r5");
    c3.send({ op: "listen", id: 1, doc: "rooms/r5", resume: snap.resume });
    const replay = await c3.next(230, 10_000);
    expect(replay.map((m) => m.changes[0].doc.data.n)).toEqual(Array.from({ length: 230 }, (_, i) => i + 1));
    c3.ws.close();
  });
});

describe("one socket per client (GET /v1/listen)", () => {
  it("answers the heartbeat: a ping gets a pong, with or without listeners", async () => {
    const c = await connect("");
    c.send({ op: "ping" });
    expect(await c.next(1)).toEqual([{ type: "pong" }]);
    const [path] = pathsOnDistinctShards("ping", 1);
    c.send({ op: "listen", id: 1, doc: path });
    expect((await c.next(1))[0]).toMatchObject({ id: 1, initial: true });
    c.send({ op: "ping" });
    expect(await c.next(1)).toEqual([{ type: "pong" }]);
    c.ws.close();
  });

  it("carries listeners on documents of several shards, each in commit order", async () => {
    const paths = pathsOnDistinctShards("multi", 4);
    expect(new Set(paths.map(shardFor)).size).toBe(4);
    for (const p of paths) await api("PUT", `/v1/docs/${p}`, { n: 0 });
    const c = await connect("");
    paths.forEach((doc, i) => c.send({ op: "listen", id: i, doc }));
    const firsts = await c.next(4);
    expect(firsts.map((m) => m.id).sort()).toEqual([0, 1, 2, 3]);
    expect(firsts.every((m) => m.initial && m.changes[0].doc.data.n === 0)).toBe(true);

    for (let n = 1; n <= 5; n++) for (const p of paths) await api("PATCH", `/v1/docs/${p}`, { n });
    const updates = await c.next(20);
    for (let i = 0; i < 4; i++) {
      const mine = updates.filter((m) => m.id === i);
      expect(mine.map((m) => m.changes[0].doc.data.n)).toEqual([1, 2, 3, 4, 5]);
      expect(mine.every((m) => m.changes[0].doc.path === paths[i])).toBe(true);
    }

    // unlisten one; the others go on.
    c.send({ op: "unlisten", id: 0 });
    await new Promise((r) => setTimeout(r, 50));
    await api("PATCH", `/v1/docs/${paths[0]}`, { n: 6 });
    await api("PATCH", `/v1/docs/${paths[1]}`, { n: 6 });
    const [after] = await c.next(1);
    expect(after).toMatchObject({ id: 1, changes: [{ doc: { data: { n: 6 } } }] });
    c.ws.close();
  });

  it("answers bad frames per listener and keeps the socket and its other listeners", async () => {
    const [path] = pathsOnDistinctShards("multi-bad", 1);
    await api("PUT", `/v1/docs/${path}`, { n: 0 });
    const c = await connect("");
    c.send({ op: "listen", id: "ok", doc: path });
    await c.next(1);
    c.ws.send("{broken");
    c.send({ op: "listen", id: "q", query: { from: { collection: "x" }, where: ["a", "=~", 1] } });
    c.send({ op: "listen", id: "ok", doc: path });
    c.send({ op: "listen", id: "r", doc: path, resume: "999:1" });
    const errors = await c.next(4);
    // The query is checked asynchronously, so its answer may come later than the others'.
    expect(errors.map((m) => [m.id, m.error.code])).toEqual(
      expect.arrayContaining([
        [null, "INVALID_ARGUMENT"],
        ["q", "INVALID_ARGUMENT"],
        ["ok", "ALREADY_EXISTS"],
        ["r", "INVALID_ARGUMENT"],
      ]),
    );
    await api("PATCH", `/v1/docs/${path}`, { n: 1 });
    expect((await c.next(1))[0]).toMatchObject({ id: "ok", changes: [{ doc: { data: { n: 1 } } }] });
    c.ws.close();
  });
});
