import { ANONYMOUS } from "../engine/core/auth";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import type { ShardApi } from "../engine/shard/routing";
import { api, pathsOnDistinctShards, pathsOnSameShard, runAlarm, shardFor, shardStubFor } from "./helpers";

const faults = (shard: number, set: Partial<ShardDO["faults"]>) =>
  runInDurableObject(shardStubFor(shard) as any, (instance: ShardDO) => {
    Object.assign(instance.faults, set);
  });

describe("POST /v1/batch", () => {
  it("commits writes on one shard atomically, in order", async () => {
    const [a, b] = pathsOnSameShard("b1", 2);
    const res = await api("POST", "/v1/batch", {
      writes: [
        { op: "set", path: a, data: { n: 1 } },
        { op: "update", path: a, data: { n: { $increment: 1 } } },
        { op: "create", path: b, data: { m: 1 } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => r.path)).toEqual([a, a, b]);
    expect(res.body.results[1].version).toBe(2);
    expect((await api("GET", `/v1/docs/${a}`)).body.data).toEqual({ n: 2 });
  });

  it("commits writes across shards, results in request order, one token for all", async () => {
    const paths = pathsOnDistinctShards("b2", 4);
    const res = await api("POST", "/v1/batch", { writes: paths.map((p, i) => ({ op: "set", path: p, data: { i } })) });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: any) => r.path)).toEqual(paths);
    expect(res.body.token.split(",")).toHaveLength(4);
    for (const [i, p] of paths.entries()) expect((await api("GET", `/v1/docs/${p}`)).body.data).toEqual({ i });
  });

  it("a failed precondition anywhere writes nothing anywhere", async () => {
    const paths = pathsOnDistinctShards("b3", 3);
    await api("PUT", `/v1/docs/${paths[2]}`, { exists: true });
    const res = await api("POST", "/v1/batch", {
      writes: [
        { op: "set", path: paths[0], data: { x: 1 } },
        { op: "set", path: paths[1], data: { x: 1 } },
        { op: "create", path: paths[2], data: { x: 1 } },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("ALREADY_EXISTS");
    expect((await api("GET", `/v1/docs/${paths[0]}`)).status).toBe(404);
    expect((await api("GET", `/v1/docs/${paths[1]}`)).status).toBe(404);
    expect((await api("GET", `/v1/docs/${paths[2]}`)).body.data).toEqual({ exists: true });
  });

  it("an update of a missing document aborts the whole single-shard batch", async () => {
    const [a, b] = pathsOnSameShard("b4", 2);
    const res = await api("POST", "/v1/batch", {
      writes: [
        { op: "set", path: a, data: { x: 1 } },
        { op: "update", path: b, data: { x: 1 } },
      ],
    });
    expect(res.status).toBe(404);
    expect((await api("GET", `/v1/docs/${a}`)).status).toBe(404);
  });

  it("ifVersion preconditions per write", async () => {
    const paths = pathsOnDistinctShards("b5", 2);
    const v = (await api("PUT", `/v1/docs/${paths[0]}`, { n: 1 })).body.version;
    const stale = await api("POST", "/v1/batch", {
      writes: [
        { op: "update", path: paths[0], data: { n: 2 }, ifVersion: v + 1 },
        { op: "set", path: paths[1], data: { n: 2 } },
      ],
    });
    expect(stale.status).toBe(412);
    expect((await api("GET", `/v1/docs/${paths[1]}`)).status).toBe(404);
    const ok = await api("POST", "/v1/batch", {
      writes: [
        { op: "update", path: paths[0], data: { n: 2 }, ifVersion: v },
        { op: "set", path: paths[1], data: { n: 2 }, ifVersion: 0 },
      ],
    });
    expect(ok.status).toBe(200);
  });

  it("a prepare that crashes on one shard aborts everywhere and frees the locks", async () => {
    const paths = pathsOnDistinctShards("b6", 3);
    await faults(shardFor(paths[2]), { failPrepare: 1 });
    const res = await api("POST", "/v1/batch", { writes: paths.map((p) => ({ op: "set", path: p, data: { x: 1 } })) });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("ABORTED");
    for (const p of paths) expect((await api("GET", `/v1/docs/${p}`)).status).toBe(404);
    // Locks are released: the same batch goes through now.
    const again = await api("POST", "/v1/batch", { writes: paths.map((p) => ({ op: "set", path: p, data: { x: 2 } })) });
    expect(again.status).toBe(200);
  });

  it("a commit that crashes on one shard after the decision still commits everywhere", async () => {
    const paths = pathsOnDistinctShards("b7", 3);
    const victim = shardFor(paths[2]);
    await faults(victim, { failCommit: 3 });
    const res = await api("POST", "/v1/batch", { writes: paths.map((p) => ({ op: "set", path: p, data: { y: 1 } })) });
    // Committed: never an error a client would retry (that would apply it twice).
    expect(res.status).toBe(200);
    expect(res.body.pendingShards).toEqual([victim]);
    expect(res.body.results[2]).toMatchObject({ path: paths[2], version: 1, pending: true });
    expect(res.body.results[2].token).toBeUndefined();
    expect(res.body.results[0].token).toMatch(/^\d+:\d+$/);
    // Reads already see the committed write: the victim asks the coordinator.
    for (const p of paths) expect((await api("GET", `/v1/docs/${p}`)).body.data).toEqual({ y: 1 });
  });

  it("the coordinator's alarm re-drives a committed batch to a participant that missed it", async () => {
    const paths = pathsOnDistinctShards("b8", 2);
    const coordinator = Math.min(...paths.map(shardFor));
    const other = paths.find((p) => shardFor(p) !== coordinator)!;
    await faults(shardFor(other), { failCommit: 3 });
    const res = await api("POST", "/v1/batch", { writes: paths.map((p) => ({ op: "set", path: p, data: { z: 1 } })) });
    expect(res.status).toBe(200);
    expect(res.body.pendingShards).toEqual([shardFor(other)]);
    await runAlarm(coordinator);
    const state = await runInDurableObject(shardStubFor(shardFor(other)) as any, (_i: ShardDO, state: DurableObjectState) =>
      state.storage.sql.exec(`SELECT COUNT(*) AS n FROM prepared`).one().n,
    );
    expect(state).toBe(0);
    expect((await api("GET", `/v1/docs/${other}`)).body.data).toEqual({ z: 1 });
  });

  it("a write to a document locked by a batch that never decided is aborted, then the lock times out", async () => {
    const paths = pathsOnDistinctShards("b9", 2);
    const target = paths[1];
    const shard = shardFor(target);
    // A prepare from a coordinator that then vanished (no transaction record).
    await (shardStubFor(shard) as unknown as ShardApi).prepare(shard, "ghost-txn", shardFor(paths[0]), [{ op: "set", path: target, data: { ghost: true } }], ANONYMOUS);
    // The coordinator has no record of it, so it resolves to aborted at once.
    const res = await api("PUT", `/v1/docs/${target}`, { real: true });
    expect(res.status).toBe(200);
    expect((await api("GET", `/v1/docs/${target}`)).body.data).toEqual({ real: true });
  });

  it("a batch whose coordinator died after recording it as preparing is aborted by the alarm, which then rests", async () => {
    const paths = pathsOnDistinctShards("b10", 2);
    const coordinator = Math.min(...paths.map(shardFor));
    const other = paths.find((p) => shardFor(p) !== coordinator)!;
    // The coordinator recorded `preparing` and one participant prepared; then the coordinator died (no run() left).
    await api("PUT", `/v1/docs/${paths.find((p) => p !== other)}`, { before: true });
    await (shardStubFor(shardFor(other)) as unknown as ShardApi).prepare(shardFor(other), "orphan-txn", coordinator, [{ op: "set", path: other, data: { orphan: true } }], ANONYMOUS);
    const stale = Date.now() - 60_000; // older than PREPARE_TIMEOUT_MS
    const hasWork = () =>
      runInDurableObject(shardStubFor(coordinator) as any, (instance: ShardDO, state: DurableObjectState) => {
        state.storage.sql.exec(`INSERT OR IGNORE INTO txns (txn_id, state, participants, pending, created_at) VALUES ('orphan-txn', 'preparing', ?, ?, ?)`, JSON.stringify([coordinator, shardFor(other)]), JSON.stringify([coordinator, shardFor(other)]), stale);
        return (instance as unknown as { coordinator(): { hasWork(): boolean } }).coordinator().hasWork();
      });
    expect(await hasWork()).toBe(true);
    await runInDurableObject(shardStubFor(coordinator) as any, (_i: ShardDO, state: DurableObjectState) => state.storage.setAlarm(Date.now()));
    await runAlarm(coordinator);
    const row = await runInDurableObject(shardStubFor(coordinator) as any, (instance: ShardDO, state: DurableObjectState) => ({
      state: state.storage.sql.exec(`SELECT state FROM txns WHERE txn_id = 'orphan-txn'`).one().state,
      hasWork: (instance as unknown as { coordinator(): { hasWork(): boolean } }).coordinator().hasWork(),
    }));
    // Aborted (kept a while for late decide() calls), no longer work for the alarm's one-second loop.
    expect(row).toEqual({ state: "aborted", hasWork: false });
    const held = await runInDurableObject(shardStubFor(shardFor(other)) as any, (_i: ShardDO, state: DurableObjectState) =>
      state.storage.sql.exec(`SELECT COUNT(*) AS n FROM prepared`).one().n,
    );
    expect(held).toBe(0);
    expect((await api("GET", `/v1/docs/${other}`)).status).toBe(404);
  });

  it("validates the batch body", async () => {
    const bad = async (body: unknown, code = "INVALID_ARGUMENT") => {
      const res = await api("POST", "/v1/batch", body);
      expect(res.body.error.code).toBe(code);
    };
    await bad({});
    await bad({ writes: [] });
    await bad({ writes: [{ op: "upsert", path: "a/b", data: {} }] });
    await bad({ writes: [{ op: "set", path: "a", data: {} }] });
    await bad({ writes: [{ op: "set", path: "a/b", data: { x: 1 }, extra: 1 }] });
    await bad({ writes: [{ op: "delete", path: "a/b", ifVersion: -1 }] });
    await bad({ writes: Array.from({ length: 501 }, (_, i) => ({ op: "delete", path: `a/${i}` })) });
    const res = await api("POST", "/v1/batch", { writes: [{ op: "set", path: "ok/1", data: { x: 1 } }, { op: "set", path: "ok", data: {} }] });
    expect(res.body.error.message).toContain("writes[1]");
    expect((await api("GET", "/v1/docs/ok/1")).status).toBe(404);
  });

  it("accepts exactly 500 writes", async () => {
    const res = await api("POST", "/v1/batch", { writes: Array.from({ length: 500 }, (_, i) => ({ op: "set", path: `many/${i}`, data: { i } })) });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(500);
  });
});
