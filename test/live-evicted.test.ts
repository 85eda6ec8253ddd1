/**
 * A live query whose in-memory result is gone (evicted, or the server
 * restarted) must not catch up inside the consumer's notification: that
 * strong read waits for the index, which waits for the consumer (the kill -9
 * fault test stalled the index that way). It schedules the catch-up on its
 * alarm and answers at once, also when catch-up reads of listeners coming
 * back are queued ahead (they too wait for the index); the alarm brings its
 * listeners up to date.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseQuery } from "../engine/core/query/ast";
import { normalizeQuery } from "../engine/core/query/normalize";
import { liveQueryKey } from "../engine/live/client";
import type { LiveQueryDO } from "../engine/live/live-query-do";
import { api, eventually } from "./helpers";
import { openListenSocket } from "./support/listen-socket";

/** The in-memory result (null when evicted), and the queue of its updates. */
type Internals = { live: unknown; chain: Promise<unknown> };

describe("a live query without its result in memory", () => {
  it("answers the consumer at once and catches up from its alarm", async () => {
    const query = { from: { collection: "lev" } };
    const client = await openListenSocket();
    client.send({ op: "listen", id: "q", query });
    const [first] = await client.take("q");
    expect(first.changes).toEqual([]);
    const key = await liveQueryKey(normalizeQuery(parseQuery(query)));
    const stub: any = env.LIVE_QUERIES.get(env.LIVE_QUERIES.idFromName(key));
    // Evicted: the persisted result stays, the in-memory one is gone.
    await runInDurableObject(stub, (instance: LiveQueryDO) => {
      (instance as unknown as Internals).live = null;
    });
    expect((await api("PUT", "/v1/docs/lev/a", { n: 1 })).status).toBe(200);
    // The consumer's notification (here called directly) returns without reading the index.
    const result = await stub.changes(key, []);
    expect(result).toEqual({ ok: true, value: undefined });
    const state = await runInDurableObject(stub, async (instance: LiveQueryDO, s: DurableObjectState) => ({
      live: (instance as unknown as Internals).live,
      alarm: await s.storage.getAlarm(),
    }));
    expect(state.live).toBeNull();
    expect(state.alarm).not.toBeNull();
    expect(state.alarm!).toBeLessThanOrEqual(Date.now());
    // The alarm catches up: the listener gets the document the index now holds.
    await eventually(async () => (await api("POST", "/v1/query", query)).body.docs.length === 1);
    await runDurableObjectAlarm(stub);
    const [next] = await client.take("q");
    expect(next.changes.map((c: any) => [c.type, c.doc.path])).toEqual([["added", "lev/a"]]);
    client.ws.close();
  });

  it("answers the consumer at once while catch-up reads are queued ahead of it", async () => {
    const query = { from: { collection: "levq" } };
    const client = await openListenSocket();
    client.send({ op: "listen", id: "q", query });
    await client.take("q");
    const key = await liveQueryKey(normalizeQuery(parseQuery(query)));
    const stub: any = env.LIVE_QUERIES.get(env.LIVE_QUERIES.idFromName(key));
    // Evicted, with a catch-up read queued that cannot finish before the
    // index moves (after a restart: listens and the alarm, each a strong read).
    let release = () => {};
    const reading = new Promise<void>((r) => (release = r));
    await runInDurableObject(stub, (instance: LiveQueryDO) => {
      const internals = instance as unknown as Internals;
      internals.live = null;
      internals.chain = internals.chain.then(() => reading);
    });
    expect((await api("PUT", "/v1/docs/levq/a", { n: 1 })).status).toBe(200);
    const answer = await Promise.race([stub.changes(key, []), new Promise((r) => setTimeout(() => r("queued behind the read"), 2000))]);
    expect(answer).toEqual({ ok: true, value: undefined });
    const alarm = await runInDurableObject(stub, (_: LiveQueryDO, s: DurableObjectState) => s.storage.getAlarm());
    expect(alarm!).toBeLessThanOrEqual(Date.now());
    // Once the read ahead is done, the alarm brings the listener the document.
    release();
    await eventually(async () => (await api("POST", "/v1/query", query)).body.docs.length === 1);
    await runDurableObjectAlarm(stub);
    const [next] = await client.take("q");
    expect(next.changes.map((c: any) => [c.type, c.doc.path])).toEqual([["added", "levq/a"]]);
    client.ws.close();
  });
});
