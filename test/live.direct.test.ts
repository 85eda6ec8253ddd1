/**
 * The direct path (engine/shard/live-routes.ts): a query listener hears a
 * commit from its shard without waiting for the queue and the index, and
 * the same change arriving later through the consumer sends nothing more.
 * The consumer is held still by its test hook, so only the direct path can
 * deliver while it is held. Own file: the hook would disturb others.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { ShardDO } from "../engine/shard/shard-do";
import { consumerHooks } from "../engine/pipeline/consumer";
import { api, d1Doc, eventually, pathsOnDistinctShards, shardFor, shardStubFor } from "./helpers";
import { holdConsumer } from "./support/hold-consumer";
import { openListenSocket } from "./support/listen-socket";

afterEach(() => {
  consumerHooks.beforeBatch = null;
});

describe("the direct path from shards to live queries", () => {
  it("delivers a commit to a query listener before the index has it, and the consumer's copy adds nothing", async () => {
    const [a, b, c] = pathsOnDistinctShards("dp1", 3);
    await api("PUT", `/v1/docs/${a}`, { open: true, n: 1 });
    const s = await openListenSocket();
    s.send({ op: "listen", id: "q", query: { from: { collection: "dp1" }, where: ["open", "==", true] } });
    const [first] = await s.take("q");
    expect(first.changes.map((x: any) => x.doc.path)).toEqual([a]);

    const release = holdConsumer();
    try {
      await api("PUT", `/v1/docs/${b}`, { open: true, n: 0 });
      await api("PATCH", `/v1/docs/${a}`, { open: false });
      await api("PUT", `/v1/docs/${c}`, { open: false, n: 5 });
      const heard = (await s.take("q", 2)).flatMap((m) => m.changes);
      expect(heard.map((x: any) => [x.type, x.doc.path])).toEqual([
        ["added", b],
        ["removed", a],
      ]);
      // Heard while the index had none of it.
      expect(await d1Doc(b)).toBeNull();
    } finally {
      release();
    }
    await eventually(async () => (await d1Doc(c)) !== null, 15_000);
    expect(await s.quietFor("q", 500)).toEqual([]);
    s.ws.close();
  });

  it("leaves a change that would leave a limit window short to the consumer, which refills it", async () => {
    const paths = pathsOnDistinctShards("dp2", 4);
    for (const [i, p] of paths.entries()) await api("PUT", `/v1/docs/${p}`, { n: i });
    const s = await openListenSocket();
    s.send({ op: "listen", id: "w", query: { from: { collection: "dp2" }, orderBy: [["n", "asc"]], limit: 2 } });
    const [first] = await s.take("w");
    expect(first.changes.map((x: any) => x.doc.path)).toEqual(paths.slice(0, 2));

    const release = holdConsumer();
    try {
      await api("DELETE", `/v1/docs/${paths[0]}`);
      // The window would be short of a document only the index can name: nothing yet.
      expect(await s.quietFor("w", 800)).toEqual([]);
    } finally {
      release();
    }
    const refill = (await s.take("w", 1, 15_000)).flatMap((m) => m.changes);
    expect(refill.map((x: any) => [x.type, x.doc.path])).toEqual([
      ["removed", paths[0]],
      ["added", paths[2]],
    ]);
    s.ws.close();
  });

  it("a shard keeps its routes across a restart of its object", async () => {
    const [a, b] = pathsOnDistinctShards("dp3", 2);
    await api("PUT", `/v1/docs/${a}`, { n: 1 });
    const s = await openListenSocket();
    s.send({ op: "listen", id: "q", query: { from: { collection: "dp3" } } });
    await s.take("q");
    // The shard that takes the next write forgets what it holds in memory, as a restarted object would.
    await runInDurableObject(shardStubFor(shardFor(b)) as any, (instance: ShardDO, state: DurableObjectState) => {
      expect(state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM live_routes`).one().n).toBeGreaterThan(0);
      (instance as unknown as { routes: unknown; store: unknown }).routes = null;
      (instance as unknown as { routes: unknown; store: unknown }).store = null;
    });
    const release = holdConsumer();
    try {
      await api("PUT", `/v1/docs/${b}`, { n: 2 });
      const heard = (await s.take("q")).flatMap((m) => m.changes);
      expect(heard).toMatchObject([{ type: "added", doc: { path: b } }]);
    } finally {
      release();
    }
    s.ws.close();
  });
});
