/**
 * The SDK's exactly-once writes against the real Worker: every mutation
 * carries an Idempotency-Key, and an `unavailable` failure (a lost answer, a
 * shard restarted right after its commit) is retried with the same key, so
 * it applies once.
 */
import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addDoc, collection, deleteDoc, doc, getDoc, increment, initializeBlaze, runTransaction, setDoc, updateDoc, writeBatch } from "blaze/sdk";
import type { ShardDO } from "../engine/shard/shard-do";
import { BASE, pathsOnDistinctShards, shardFor, shardStubFor } from "./helpers";

const faults = (shard: number, set: Partial<ShardDO["faults"]>) =>
  runInDurableObject(shardStubFor(shard) as any, (instance: ShardDO) => {
    Object.assign(instance.faults, set);
  });

/** A database whose requests are logged; `dropAnswers` mutations reach the engine but their answers are lost. */
function open() {
  const sent: { method: string; path: string; key: string | null }[] = [];
  const state = { dropAnswers: 0 };
  const db = initializeBlaze({
    url: BASE,
    fetch: async (req) => {
      sent.push({ method: req.method, path: new URL(req.url).pathname, key: req.headers.get("Idempotency-Key") });
      const res = await exports.default.fetch(req);
      if (req.method !== "GET" && state.dropAnswers > 0) {
        state.dropAnswers--;
        throw new TypeError("fetch failed: connection reset");
      }
      return res;
    },
  });
  return { db, sent, state };
}

describe("sdk: exactly-once writes", () => {
  it("sends a fresh Idempotency-Key with every mutation, none with reads", async () => {
    const { db, sent } = open();
    const ref = doc(db, "sdkidem1/a");
    await setDoc(ref, { n: 1 });
    await setDoc(ref, { m: 1 }, { merge: true });
    await updateDoc(ref, { n: increment(1) });
    await addDoc(collection(db, "sdkidem1"), { n: 1 });
    await writeBatch(db).set(ref, { n: 5 }).delete(doc(db, "sdkidem1/b")).commit();
    await runTransaction(db, async (tx) => void tx.update(ref, { n: ((await tx.get(ref)).get("n") as number) + 1 }));
    await deleteDoc(ref);
    await getDoc(ref);
    const keys = sent.filter((s) => s.method !== "GET").map((s) => s.key);
    expect(keys.length).toBe(7);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of sent.filter((x) => x.method === "GET")) expect(s.key).toBeNull();
  });

  it("a mutation whose answer was lost is sent again with the same key and applies once", async () => {
    const { db, sent, state } = open();
    const ref = doc(db, "sdkidem2/a");
    await setDoc(ref, { n: 0 });
    state.dropAnswers = 2;
    await updateDoc(ref, { n: increment(1) });
    const patches = sent.filter((s) => s.method === "PATCH");
    expect(patches.length).toBe(3);
    expect(new Set(patches.map((p) => p.key)).size).toBe(1);
    expect((await getDoc(ref)).get("n")).toBe(1);

    state.dropAnswers = 1;
    const added = await addDoc(collection(db, "sdkidem2"), { made: true });
    expect((await getDoc(added)).get("made")).toBe(true);

    state.dropAnswers = 1;
    const paths = pathsOnDistinctShards("sdkidem2b", 3);
    const batch = writeBatch(db);
    for (const p of paths) batch.set(doc(db, p), { n: increment(1) }, { merge: true });
    await batch.commit();
    for (const p of paths) expect((await getDoc(doc(db, p))).get("n")).toBe(1);
  });

  it("a transaction whose commit answer was lost is not run again", async () => {
    const { db, state } = open();
    const ref = doc(db, "sdkidem3/a");
    await setDoc(ref, { n: 0 });
    let runs = 0;
    await runTransaction(db, async (tx) => {
      runs++;
      const n = (await tx.get(ref)).get("n") as number;
      if (runs === 1) state.dropAnswers = 1; // the commit's answer, not the read's
      tx.update(ref, { n: n + 1 });
    });
    expect(runs).toBe(1);
    expect((await getDoc(ref)).get("n")).toBe(1);
  });

  it("a write retried after its shard restarted right after the commit applies once", async () => {
    const { db, sent } = open();
    const ref = doc(db, "sdkidem4/a");
    await setDoc(ref, { n: 0 });
    await faults(shardFor(ref.path), { restartAt: "commit" });
    await updateDoc(ref, { n: increment(1) });
    expect(sent.filter((s) => s.method === "PATCH").length).toBe(2);
    expect((await getDoc(ref)).get("n")).toBe(1);

    const paths = pathsOnDistinctShards("sdkidem4b", 2);
    await faults(Math.min(...paths.map(shardFor)), { restartAt: "commit-point" });
    const batch = writeBatch(db);
    for (const p of paths) batch.set(doc(db, p), { n: increment(1) }, { merge: true });
    await batch.commit();
    for (const p of paths) expect((await getDoc(doc(db, p))).get("n")).toBe(1);
  });

  it("does not retry other errors", async () => {
    const { db, sent } = open();
    await expect(updateDoc(doc(db, "sdkidem5/missing"), { n: 1 })).rejects.toMatchObject({ code: "not-found" });
    expect(sent.length).toBe(1);
  });
});
