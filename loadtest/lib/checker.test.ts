import { describe, expect, it } from "vitest";
import { checkHistory } from "./checker";
import type { DocSnap, History, Op, OpInput, OpResult, Outcome } from "../k6/lib/history";

/** A small history built by hand: a clean run, then each fault injected into a copy. */
function clean(): History {
  const ops: Op[] = [];
  let t = 0;
  const op = (input: OpInput, outcome: Outcome, result?: OpResult): Op => {
    const o: Op = { id: ops.length, process: ops.length % 3, input, invokedAt: (t += 10), completedAt: (t += 5), outcome, result };
    ops.push(o);
    return o;
  };
  const reg = (tag: string, v: number): DocSnap => ({ path: "reg/a", version: v, data: { tag } });
  op({ f: "write", path: "reg/a", tag: "t1" }, "ok", { version: 1 });
  op({ f: "read", path: "reg/a" }, "ok", { doc: reg("t1", 1) });
  op({ f: "write", path: "reg/a", tag: "t2" }, "ok", { version: 2 });
  op({ f: "write", path: "reg/a", tag: "t3" }, "fail");
  op({ f: "write", path: "reg/a", tag: "t4" }, "info");
  op({ f: "batch", id: "b1", paths: ["bat/x", "bat/y"] }, "ok", { versions: [1, 1] });
  op({ f: "read", path: "bat/y" }, "ok", { doc: { path: "bat/y", version: 1, data: { seen: { b1: true } } } });
  op({ f: "batch", id: "b2", paths: ["bat/x", "bat/y"] }, "fail");
  op({ f: "increment", path: "cnt/c", amount: 2, key: "k1" }, "ok", { version: 1 });
  op({ f: "increment", path: "cnt/c", amount: 3, key: "k2" }, "ok", { version: 2 });
  op({ f: "read", path: "cnt/c" }, "ok", { doc: { path: "cnt/c", version: 2, data: { n: 5 } } });
  op({ f: "query", collection: "reg" }, "ok", { docs: [reg("t2", 2)] });
  const finalDocs: DocSnap[] = [
    reg("t2", 2),
    { path: "bat/x", version: 1, data: { seen: { b1: true } } },
    { path: "bat/y", version: 1, data: { seen: { b1: true } } },
    { path: "cnt/c", version: 2, data: { n: 5 } },
  ];
  return {
    ops,
    events: [
      { listener: "L1", at: 1, reset: true },
      { listener: "L1", at: 20, path: "reg/a", doc: reg("t1", 1) },
      { listener: "L1", at: 40, path: "reg/a", doc: reg("t2", 2) },
      // a reconnect: a new snapshot may repeat the version last heard
      { listener: "L1", at: 50, reset: true },
      { listener: "L1", at: 51, path: "reg/a", doc: reg("t2", 2) },
    ],
    final: {
      reads: Object.fromEntries(finalDocs.map((d) => [d.path, d])),
      index: finalDocs.map((d) => structuredClone(d)),
      listeners: {
        L1: { scope: { collection: "reg" }, docs: [reg("t2", 2)] },
        L2: { scope: { docs: ["bat/x", "cnt/c"] }, docs: [finalDocs[1], finalDocs[3]] },
      },
    },
  };
}

const kinds = (h: History) => Object.keys(checkHistory(h).counts).sort();

describe("history checker", () => {
  it("judges a soak-sized history (300,000 listener events) without running out of stack", () => {
    const h = clean();
    // Resets only: many events, none of which is an anomaly.
    for (let i = 0; i < 300_000; i++) h.events.push({ listener: `S${i % 160}`, at: 60 + i, reset: true });
    expect(checkHistory(h).ok).toBe(true);
  });

  it("passes a clean history, with writes of unknown outcome either way", () => {
    const report = checkHistory(clean());
    expect(report.anomalies).toEqual([]);
    expect(report.ok).toBe(true);
    const h = clean();
    // the unknown write t4 did apply: fine too
    h.final!.reads["reg/a"] = { path: "reg/a", version: 3, data: { tag: "t4" } };
    h.final!.index[0] = { path: "reg/a", version: 3, data: { tag: "t4" } };
    h.final!.listeners.L1.docs = [{ path: "reg/a", version: 3, data: { tag: "t4" } }];
    expect(checkHistory(h).anomalies).toEqual([]);
  });

  it("finds a lost write: the end state is older than an acknowledged version", () => {
    const h = clean();
    const old = { path: "reg/a", version: 1, data: { tag: "t1" } };
    h.final!.reads["reg/a"] = old;
    h.final!.index[0] = old;
    h.final!.listeners.L1.docs = [old];
    expect(kinds(h)).toContain("lost-write");
  });

  it("finds an acknowledged version whose value was replaced", () => {
    const h = clean();
    const other = { path: "reg/a", version: 2, data: { tag: "t4" } };
    h.final!.reads["reg/a"] = other;
    expect(kinds(h)).toContain("version-conflict");
  });

  it("finds reordered versions: a read going backwards and a listener hearing an older version", () => {
    const h = clean();
    const r = h.ops.find((o) => o.input.f === "query")!;
    r.result = { docs: [{ path: "reg/a", version: 1, data: { tag: "t1" } }] };
    expect(kinds(h)).toEqual(["stale-read"]);
    const l = clean();
    l.events.splice(3, 0, { listener: "L1", at: 45, path: "reg/a", doc: { path: "reg/a", version: 1, data: { tag: "t1" } } });
    expect(kinds(l)).toEqual(["listener-reorder"]);
    const dup = clean();
    dup.events.splice(3, 0, { listener: "L1", at: 45, path: "reg/a", doc: { path: "reg/a", version: 2, data: { tag: "t2" } } });
    expect(kinds(dup)).toEqual(["listener-reorder"]);
  });

  it("finds a torn batch: applied on one document only, or visible on one and then missing on another", () => {
    const h = clean();
    h.final!.reads["bat/y"] = { path: "bat/y", version: 1, data: { seen: {} } };
    h.final!.index[2] = h.final!.reads["bat/y"]!;
    expect(kinds(h)).toContain("torn-batch");
    const unknown = clean();
    (unknown.ops.find((o) => o.input.f === "batch" && o.input.id === "b1")!).outcome = "info";
    unknown.ops.find((o) => o.input.f === "batch" && o.input.id === "b1")!.result = undefined;
    unknown.final!.reads["bat/y"] = { path: "bat/y", version: 1, data: { seen: {} } };
    expect(kinds(unknown)).toContain("torn-batch");
    const fractured = clean();
    fractured.ops.push({ id: 99, process: 0, input: { f: "read", path: "bat/x" }, invokedAt: 1000, completedAt: 1001, outcome: "ok", result: { doc: null } });
    expect(kinds(fractured)).toContain("torn-batch");
  });

  it("finds phantom values: a tag never written, a refused write, a refused batch", () => {
    const h = clean();
    h.ops.push({ id: 99, process: 0, input: { f: "read", path: "reg/a" }, invokedAt: 1000, completedAt: 1001, outcome: "ok", result: { doc: { path: "reg/a", version: 9, data: { tag: "nobody" } } } });
    expect(kinds(h)).toContain("phantom");
    const refused = clean();
    refused.events.push({ listener: "L1", at: 300, path: "reg/a", doc: { path: "reg/a", version: 3, data: { tag: "t3" } } });
    expect(kinds(refused)).toContain("phantom");
    const batch = clean();
    batch.final!.reads["bat/x"] = { path: "bat/x", version: 2, data: { seen: { b1: true, b2: true } } };
    expect(kinds(batch)).toContain("phantom");
  });

  it("finds a double-applied increment and a lost one", () => {
    const h = clean();
    h.final!.reads["cnt/c"] = { path: "cnt/c", version: 3, data: { n: 8 } };
    h.final!.index[3] = h.final!.reads["cnt/c"]!;
    h.final!.listeners.L2.docs[1] = h.final!.reads["cnt/c"]!;
    expect(kinds(h)).toEqual(["counter-mismatch"]);
    const lost = clean();
    lost.ops.push({ id: 99, process: 0, input: { f: "read", path: "cnt/c" }, invokedAt: 1000, completedAt: 1001, outcome: "ok", result: { doc: { path: "cnt/c", version: 2, data: { n: 2 } } } });
    expect(kinds(lost)).toContain("counter-mismatch");
  });

  it("finds an index that differs from the documents", () => {
    const h = clean();
    h.final!.index[0] = { path: "reg/a", version: 1, data: { tag: "t1" } };
    expect(kinds(h)).toEqual(["index-mismatch"]);
    const extra = clean();
    extra.final!.index.push({ path: "reg/zzz", version: 1, data: { tag: "t1" } });
    expect(kinds(extra)).toContain("index-mismatch");
    const missing = clean();
    missing.final!.index.pop();
    expect(kinds(missing)).toEqual(["index-mismatch"]);
  });

  it("finds a listener that did not catch up", () => {
    const h = clean();
    h.final!.listeners.L1.docs = [{ path: "reg/a", version: 1, data: { tag: "t1" } }];
    expect(kinds(h)).toEqual(["listener-divergence"]);
    const missing = clean();
    missing.final!.listeners.L2.docs = [missing.final!.listeners.L2.docs[0]];
    expect(kinds(missing)).toEqual(["listener-divergence"]);
  });
});
