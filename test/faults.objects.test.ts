/**
 * Durable Object faults under the mixed load, each run judged by the history
 * checker (loadtest/lib/checker.ts) and ending with the D1 index equal to the
 * documents: shard alarms that fail and are retried by the runtime, and the
 * live query of the query listeners evicted mid-stream (its sockets
 * hibernated, or closed), after which every listener's final state still
 * equals the query's result. Real DO storage, real D1, the real queue.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseQuery } from "../engine/core/query/ast";
import { normalizeQuery } from "../engine/core/query/normalize";
import { liveQueryKey } from "../engine/live/client";
import { shardCount } from "../engine/shard/routing";
import type { ShardDO } from "../engine/shard/shard-do";
import { api, d1Doc, eventually, shardFor, shardStubFor } from "./helpers";
import { checkedLoad, expectCheckedAndIndexed } from "./support/checked-load";

const onEveryShard = <T>(f: (i: ShardDO) => T) =>
  Promise.all(Array.from({ length: shardCount(env) }, (_, s) => runInDurableObject(shardStubFor(s) as any, (i: ShardDO) => f(i))));

describe("object faults under mixed load, judged by the history checker", () => {
  it("shard alarms that fail once are retried, and the outboxes they drain still reach the index", async () => {
    let armed = 0;
    const run = await checkedLoad({
      during: async (r) => {
        await r.sleep(1_000);
        // The drain right after each commit fails, so the alarm must drain; and the alarm itself fails first.
        await onEveryShard((i) => {
          i.faults.failQueueSend = 2;
          i.faults.failAlarm = 1;
        });
        armed = shardCount(env);
      },
    });
    const left = await onEveryShard((i) => ({ alarm: i.faults.failAlarm, send: i.faults.failQueueSend }));
    await onEveryShard((i) => {
      i.faults.failAlarm = 0;
      i.faults.failQueueSend = 0;
    });
    const fired = left.filter((l) => l.alarm === 0).length;
    console.log(`alarm faults: ${fired} of ${armed} shards' alarms failed once and were retried`);
    // The shards the load wrote to all met the fault (the rest never needed an alarm).
    expect(fired, run.text).toBeGreaterThan(3);
    expect(left.filter((l) => l.alarm === 0).every((l) => l.send === 0), run.text).toBe(true);
    await expectCheckedAndIndexed(run);
  }, 60_000);

  it("an alarm that throws is run again by the runtime: the only drain left still reaches the index", async () => {
    const path = "alarmretry/a";
    const shard = shardFor(path);
    await runInDurableObject(shardStubFor(shard) as any, (i: ShardDO) => {
      i.faults.failQueueSend = 1; // the drain after the commit fails: only the alarm can send
      i.faults.failAlarm = 1;
    });
    expect((await api("PUT", `/v1/docs/${path}`, { n: 1 })).status).toBe(200);
    // No other write follows: nothing but a retry of the failed alarm can drain the change.
    await eventually(() => d1Doc(path), 20_000, 100);
    expect(await runInDurableObject(shardStubFor(shard) as any, (i: ShardDO) => i.faults.failAlarm)).toBe(0);
  }, 30_000);

  it("a live query evicted mid-stream: its listeners end with the query's result", async () => {
    let evictions = 0;
    const run = await checkedLoad({
      during: async (r) => {
        const key = await liveQueryKey(normalizeQuery(parseQuery({ from: { collection: r.layout.reg } })));
        const stub = env.LIVE_QUERIES.get(env.LIVE_QUERIES.idFromName(key));
        // Hibernated sockets twice, then closed sockets (the relay tells listeners to listen again).
        for (const webSockets of ["hibernate", "hibernate", "close", "hibernate"] as const) {
          await r.sleep(1_500);
          try {
            await evictDurableObject(stub, { webSockets });
            evictions++;
          } catch {
            // not running at that moment (between listeners): nothing to evict
          }
        }
      },
    });
    console.log(`live query evicted ${evictions} times mid-stream`);
    expect(evictions, run.text).toBeGreaterThanOrEqual(2);
    await expectCheckedAndIndexed(run);
  }, 60_000);
});
