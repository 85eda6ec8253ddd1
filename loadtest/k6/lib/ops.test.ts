/**
 * The batch workload is steady: batches move to a new generation of batch
 * documents every `generationMs`, so a batch document holds at most the
 * batches of its own generation however long the run goes (a soak's latency
 * can stay flat), and the end of a run still reads every document a batch
 * wrote. Driven through writeBatch itself against a fake server that merges
 * as Blaze does.
 */
import { describe, expect, it } from "vitest";
import { listenSpecs } from "../scenarios/listeners";
import { NO_HISTORY } from "./history";
import { batchDocsAt, batchDocsUntil, layout, LISTEN_AHEAD_MS, writeBatch } from "./ops";
import type { Res, Runtime } from "./runtime";

/** A runtime whose clock moves `stepMs` per request, in front of documents that take merges. */
function fakeRuntime(stepMs: number) {
  const docs = new Map<string, { version: number; data: { seen: Record<string, true> } }>();
  let clock = 1_000_000;
  const rt: Runtime = {
    url: "http://fake",
    key: "",
    vu: 1,
    iter: 0,
    run: "t",
    state: {},
    async request(_name, _method, path, body: any): Promise<Res> {
      clock += stepMs;
      if (path !== "/v1/batch") throw new Error(`unexpected ${path}`);
      const results = body.writes.map((w: { path: string; data: { seen: Record<string, true> } }) => {
        const doc = docs.get(w.path) ?? { version: 0, data: { seen: {} } };
        const next = { version: doc.version + 1, data: { ...doc.data, ...w.data, seen: { ...doc.data.seen, ...w.data.seen } } };
        docs.set(w.path, next);
        return { version: next.version };
      });
      return { status: 200, body: { results } };
    },
    check: () => true,
    trend: () => {},
    openSocket: () => {
      throw new Error("no sockets here");
    },
    sleep: async (ms) => void (clock += ms),
    now: () => clock,
    stopping: () => false,
    history: NO_HISTORY,
  };
  return { rt, docs, now: () => clock };
}

const largest = (docs: Map<string, { data: { seen: Record<string, true> } }>) => {
  let keys = 0;
  let bytes = 0;
  for (const d of docs.values()) {
    keys = Math.max(keys, Object.keys(d.data.seen).length);
    bytes = Math.max(bytes, JSON.stringify(d.data).length);
  }
  return { keys, bytes };
};

describe("batch documents", () => {
  it("stay bounded as a run goes on: 10x the batches, the same largest document", async () => {
    const f = fakeRuntime(100); // 10 batches/s from one virtual user
    const L = layout("t", f.now());
    const perGeneration = L.generationMs / 100;
    const sizes: { keys: number; bytes: number }[] = [];
    let pairs = 0;
    for (let i = 1; i <= 6000; i++) {
      await writeBatch(f.rt, L);
      pairs += 2 + (i % 2);
      if (i === 600 || i === 6000) sizes.push(largest(f.docs));
    }
    // A document only takes the batches of its generation (300 here), never the whole run's (6000 x 2.5 / 8 ~ 1,900 each with one pool).
    expect(sizes[1].keys).toBeLessThanOrEqual(perGeneration);
    expect(sizes[1].bytes).toBeLessThan(sizes[0].bytes * 1.5);
    // Nothing written outside the documents the end of the run reads back, and every batch left its id.
    const written = [...f.docs.keys()];
    expect(written.length).toBeGreaterThan(L.batchDocs * 10);
    expect(batchDocsUntil(L, f.now())).toEqual(expect.arrayContaining(written));
    expect([...f.docs.values()].reduce((s, d) => s + Object.keys(d.data.seen).length, 0)).toBe(pairs);
  });

  it("are listened to in their generation and shortly before it starts", () => {
    const L = layout("t", 0);
    const docsIn = (t: number) => listenSpecs({ vu: 1 } as Runtime, L, t).flatMap((s) => ("doc" in s && s.doc.startsWith(`${L.bat}/`) ? [s.doc] : []));
    expect(docsIn(1000)).toEqual(batchDocsAt(L, 1000));
    const edge = L.generationMs - LISTEN_AHEAD_MS / 2;
    expect(docsIn(edge)).toEqual([...batchDocsAt(L, edge), ...batchDocsAt(L, L.generationMs)]);
    expect(batchDocsUntil(L, edge)).toHaveLength(2 * L.batchDocs);
  });
});
