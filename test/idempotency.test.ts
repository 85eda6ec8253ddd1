/**
 * Exactly-once writes: an Idempotency-Key makes a retry answer the first
 * outcome instead of applying again, including after the shard (or a batch's
 * coordinator) restarted right after its durable commit.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import { api, pathsOnDistinctShards, runAlarm, shardFor, shardStubFor } from "./helpers";

const faults = (shard: number, set: Partial<ShardDO["faults"]>) =>
  runInDurableObject(shardStubFor(shard) as any, (instance: ShardDO) => {
    Object.assign(instance.faults, set);
  });

const keyed = (key: string) => ({ "Idempotency-Key": key });
const inc = { n: { $increment: 1 } };
const value = async (path: string) => (await api("GET", `/v1/docs/${path}`)).body.data.n;

describe("Idempotency-Key", () => {
  it("a retried $increment with the same key applies once and answers the first outcome", async () => {
    await api("PUT", "/v1/docs/idem1/a", { n: 0 });
    const first = await api("PATCH", "/v1/docs/idem1/a", inc, keyed("k-inc"));
    const again = await api("PATCH", "/v1/docs/idem1/a", inc, keyed("k-inc"));
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body); // same version, updateTime and token
    expect(await value("idem1/a")).toBe(1);
    // Another key is another write.
    await api("PATCH", "/v1/docs/idem1/a", inc, keyed("k-inc-2"));
    expect(await value("idem1/a")).toBe(2);
  });

  it("a retried POST creates one document, with the same generated id", async () => {
    const first = await api("POST", "/v1/docs/idem2", { n: 1 }, keyed("k-post"));
    const again = await api("POST", "/v1/docs/idem2", { n: 1 }, keyed("k-post"));
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Location")).toBe(first.headers.get("Location"));
    expect(first.body.path).toMatch(/^idem2\/[A-Za-z0-9]{20}$/);
    expect(first.body.version).toBe(1);
    // The id comes from the key and the collection: another key or collection, another document.
    const other = await api("POST", "/v1/docs/idem2", { n: 1 }, keyed("k-post-2"));
    const elsewhere = await api("POST", "/v1/docs/idem2b", { n: 1 }, keyed("k-post"));
    expect(other.body.path).not.toBe(first.body.path);
    expect(elsewhere.body.path.split("/")[1]).not.toBe(first.body.path.split("/")[1]);
    // Without a key every POST is a new document.
    const [x, y] = [await api("POST", "/v1/docs/idem2", { n: 1 }), await api("POST", "/v1/docs/idem2", { n: 1 })];
    expect(x.body.path).not.toBe(y.body.path);
  });

  it("a retried batch across shards applies once and answers the same results", async () => {
    const paths = pathsOnDistinctShards("idem3", 3);
    const body = { writes: paths.map((path) => ({ op: "set", path, data: inc, merge: true })) };
    const first = await api("POST", "/v1/batch", body, keyed("k-batch"));
    const again = await api("POST", "/v1/batch", body, keyed("k-batch"));
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    for (const p of paths) expect(await value(p)).toBe(1);
  });

  it("a repeat that arrives while the first is still running waits for it and answers its outcome", async () => {
    const paths = pathsOnDistinctShards("idem3c", 4);
    const body = { writes: paths.map((path) => ({ op: "set", path, data: inc, merge: true })) };
    const answers = await Promise.all([1, 2, 3].map(() => api("POST", "/v1/batch", body, keyed("k-batch-concurrent"))));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[1].body).toEqual(answers[0].body);
    expect(answers[2].body).toEqual(answers[0].body);
    for (const p of paths) expect(await value(p)).toBe(1);
  });

  it("a retried single-shard batch applies once", async () => {
    const body = { writes: [{ op: "set", path: "idem4/a", data: inc, merge: true }, { op: "update", path: "idem4/a", data: inc }] };
    const first = await api("POST", "/v1/batch", body, keyed("k-batch-1"));
    const again = await api("POST", "/v1/batch", body, keyed("k-batch-1"));
    expect(again.body).toEqual(first.body);
    expect(await value("idem4/a")).toBe(2);
  });

  it("the same key with a different request is refused with INVALID_ARGUMENT and changes nothing", async () => {
    await api("PUT", "/v1/docs/idem5/a", { n: 0 });
    expect((await api("PATCH", "/v1/docs/idem5/a", inc, keyed("k-reuse"))).status).toBe(200);
    const other = await api("PATCH", "/v1/docs/idem5/a", { n: { $increment: 5 } }, keyed("k-reuse"));
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("INVALID_ARGUMENT");
    expect(other.body.error.message).toContain("already used for a different request");
    const asPut = await api("PUT", "/v1/docs/idem5/a", inc, keyed("k-reuse"));
    expect(asPut.body.error.code).toBe("INVALID_ARGUMENT");
    expect(await value("idem5/a")).toBe(1);

    const paths = pathsOnDistinctShards("idem5b", 2);
    const batch = (n: number) => ({ writes: paths.map((path) => ({ op: "set", path, data: { n } })) });
    expect((await api("POST", "/v1/batch", batch(1), keyed("k-reuse-batch"))).status).toBe(200);
    const changed = await api("POST", "/v1/batch", batch(2), keyed("k-reuse-batch"));
    expect(changed.status).toBe(400);
    expect(changed.body.error.code).toBe("INVALID_ARGUMENT");
    for (const p of paths) expect(await value(p)).toBe(1);
  });

  it("refuses a key that is empty, too long or not printable ASCII", async () => {
    for (const key of ["", "x".repeat(256), "caf\u00e9", "tab\there"]) {
      const res = await api("PUT", "/v1/docs/idem6/a", { n: 1 }, keyed(key));
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.body.error.message).toContain("Idempotency-Key");
    }
    expect((await api("PUT", "/v1/docs/idem6/a", { n: 1 }, keyed("x".repeat(255)))).status).toBe(200);
    expect((await api("GET", "/v1/docs/idem6/a")).body.version).toBe(1);
  });

  it("a write retried after its shard restarted right after the commit applies once", async () => {
    const path = "idem7/a";
    await api("PUT", `/v1/docs/${path}`, { n: 0 });
    await faults(shardFor(path), { restartAt: "commit" });
    const lost = await api("PATCH", `/v1/docs/${path}`, inc, keyed("k-restart"));
    expect(lost.status).toBe(503);
    expect(lost.body.error.code).toBe("UNAVAILABLE");
    expect(lost.body.error.message).toContain("retry with the same Idempotency-Key");
    const committed = await api("GET", `/v1/docs/${path}`);
    expect(committed.body.data.n).toBe(1); // the commit was durable before the restart
    const retry = await api("PATCH", `/v1/docs/${path}`, inc, keyed("k-restart"));
    expect(retry.status).toBe(200);
    expect(retry.body.version).toBe(committed.body.version);
    expect(await value(path)).toBe(1);
  });

  it("a write without a key whose shard restarted after the commit is not told to retry", async () => {
    const path = "idem8/a";
    await api("PUT", `/v1/docs/${path}`, { n: 0 });
    await faults(shardFor(path), { restartAt: "commit" });
    const lost = await api("PATCH", `/v1/docs/${path}`, inc);
    expect(lost.status).toBe(503);
    expect(lost.body.error.message).toContain("may have been applied");
    expect(lost.body.error.message).not.toMatch(/; retry|retry with/);
    expect(lost.body.error.details).toEqual({ applied: "unknown" });
    expect(await value(path)).toBe(1);
  });

  it("a batch retried after its coordinator restarted at the commit point applies once", async () => {
    const paths = pathsOnDistinctShards("idem9", 3);
    const coordinator = Math.min(...paths.map(shardFor));
    const body = { writes: paths.map((path) => ({ op: "set", path, data: inc, merge: true })) };
    await faults(coordinator, { restartAt: "commit-point" });
    const lost = await api("POST", "/v1/batch", body, keyed("k-batch-restart"));
    expect(lost.status).toBe(503);
    expect(lost.body.error.message).toContain("Idempotency-Key");
    const retry = await api("POST", "/v1/batch", body, keyed("k-batch-restart"));
    expect(retry.status).toBe(200);
    expect(retry.body.pendingShards).toBeUndefined();
    for (const r of retry.body.results) expect(r.token).toMatch(/^\d+:\d+$/);
    for (const p of paths) expect(await value(p)).toBe(1);
    // The finished outcome is what later repeats get.
    expect((await api("POST", "/v1/batch", body, keyed("k-batch-restart"))).body).toEqual(retry.body);
  });

  it("a batch retried after its coordinator restarted after answering applies once", async () => {
    const paths = pathsOnDistinctShards("idem10", 2);
    const body = { writes: paths.map((path) => ({ op: "set", path, data: inc, merge: true })) };
    await faults(Math.min(...paths.map(shardFor)), { restartAt: "commit" });
    expect((await api("POST", "/v1/batch", body, keyed("k-batch-restart-2"))).status).toBe(503);
    const retry = await api("POST", "/v1/batch", body, keyed("k-batch-restart-2"));
    expect(retry.status).toBe(200);
    for (const p of paths) expect(await value(p)).toBe(1);
  });

  it("a key is forgotten after the window: a repeat then applies again, and the alarm prunes it", async () => {
    const path = "idem11/a";
    const shard = shardFor(path);
    await api("PUT", `/v1/docs/${path}`, { n: 0 });
    await faults(shard, { idempotencyWindowMs: 100 });
    try {
      const first = await api("PATCH", `/v1/docs/${path}`, inc, keyed("k-expire"));
      expect((await api("PATCH", `/v1/docs/${path}`, inc, keyed("k-expire"))).body).toEqual(first.body);
      await new Promise((r) => setTimeout(r, 150));
      await runAlarm(shard);
      const rows = await runInDurableObject(shardStubFor(shard) as any, (_i: ShardDO, state: DurableObjectState) =>
        state.storage.sql.exec(`SELECT COUNT(*) AS n FROM idempotency WHERE key = 'k-expire'`).one().n,
      );
      expect(rows).toBe(0);
      const later = await api("PATCH", `/v1/docs/${path}`, inc, keyed("k-expire"));
      expect(later.body.version).toBe(first.body.version + 1);
      expect(await value(path)).toBe(2);
    } finally {
      await faults(shard, { idempotencyWindowMs: null });
    }
  });
});
