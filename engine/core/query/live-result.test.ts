import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DocumentSnapshot } from "../writes";
import { parseQuery } from "./ast";
import { runQueryInMemory } from "./evaluate";
import { LiveResult, type LiveChange } from "./live-result";
import { normalizeQuery } from "./normalize";

const doc = (id: string, data: Record<string, unknown>, version: number): DocumentSnapshot => ({
  path: `c/${id}`, id, data: data as never, version, createTime: "t", updateTime: "t",
});

/** Applies docChanges to a client's array as Firestore's docChanges() documents it. */
function applyToClient(client: DocumentSnapshot[], changes: LiveChange[]): void {
  for (const c of changes) {
    if (c.oldIndex >= 0) {
      expect(client[c.oldIndex]?.path).toBe(c.doc.path);
      client.splice(c.oldIndex, 1);
    }
    if (c.newIndex >= 0) client.splice(c.newIndex, 0, c.doc);
  }
}

const q = (body: Record<string, unknown>) => normalizeQuery(parseQuery({ from: { collection: "c" }, ...body }));

describe("LiveResult", () => {
  it("adds, moves and removes documents in query order", () => {
    const r = new LiveResult(q({ where: ["n", ">", 0], orderBy: [["n", "asc"]] }));
    expect(r.reset([doc("a", { n: 1 }, 1), doc("b", { n: 3 }, 1)]).map((c) => [c.type, c.doc.id, c.newIndex])).toEqual([
      ["added", "a", 0],
      ["added", "b", 1],
    ]);
    expect(r.apply("c/c", doc("c", { n: 2 }, 1)).changes).toMatchObject([{ type: "added", newIndex: 1 }]);
    expect(r.apply("c/a", doc("a", { n: 5 }, 2)).changes).toMatchObject([{ type: "modified", oldIndex: 0, newIndex: 2 }]);
    expect(r.apply("c/b", doc("b", { n: 0 }, 2)).changes).toMatchObject([{ type: "removed", oldIndex: 1 }]);
    expect(r.apply("c/z", null).changes).toEqual([]);
    expect(r.current.map((d) => d.id)).toEqual(["c", "a"]);
  });

  it("pushes a document out of a full limit window, and asks for a refill when one leaves", () => {
    const r = new LiveResult(q({ orderBy: [["n", "asc"]], limit: 2 }));
    r.reset([doc("a", { n: 1 }, 1), doc("b", { n: 2 }, 1)]);
    expect(r.apply("c/x", doc("x", { n: 0 }, 1)).changes.map((c) => [c.type, c.doc.id])).toEqual([
      ["added", "x"],
      ["removed", "b"],
    ]);
    expect(r.apply("c/y", doc("y", { n: 9 }, 1))).toEqual({ changes: [], refill: false });
    const left = r.apply("c/a", null);
    expect(left.refill).toBe(true);
    expect(r.reset([doc("x", { n: 0 }, 1), doc("b", { n: 2 }, 1)]).map((c) => [c.type, c.doc.id])).toEqual([["added", "b"]]);
  });

  it("tryApply applies what needs no refill and leaves the result untouched otherwise", () => {
    const r = new LiveResult(q({ orderBy: [["n", "asc"]], limit: 2 }));
    r.reset([doc("a", { n: 1 }, 1), doc("b", { n: 2 }, 1)]);
    expect(r.tryApply("c/x", doc("x", { n: 0 }, 1))!.map((c) => [c.type, c.doc.id])).toEqual([
      ["added", "x"],
      ["removed", "b"],
    ]);
    expect(r.tryApply("c/x", null)).toBeNull();
    expect(r.tryApply("c/a", doc("a", { n: 99 }, 2))).toBeNull();
    expect(r.current.map((d) => [d.id, d.version])).toEqual([["x", 1], ["a", 1]]);
    // Still full: a document that leaves later still asks for a refill.
    expect(r.apply("c/a", null).refill).toBe(true);
  });

  it("keeps the last N for limitToLast", () => {
    const r = new LiveResult(q({ orderBy: [["n", "asc"]], limitToLast: 2 }));
    r.reset([doc("a", { n: 1 }, 1), doc("b", { n: 2 }, 1)]);
    expect(r.apply("c/x", doc("x", { n: 0 }, 1)).changes).toEqual([]);
    expect(r.apply("c/y", doc("y", { n: 3 }, 1)).changes.map((c) => [c.type, c.doc.id])).toEqual([
      ["added", "y"],
      ["removed", "a"],
    ]);
    expect(r.current.map((d) => d.id)).toEqual(["b", "y"]);
  });

  // Random histories: after every change the live result equals a fresh run
  // of the query over all documents, and the emitted changes rebuild it on a client.
  const queries = [
    { where: ["n", ">=", 2], orderBy: [["n", "asc"]] },
    { where: ["tag", "==", "x"], orderBy: [["n", "desc"]], limit: 3 },
    { orderBy: [["n", "asc"]], limitToLast: 3 },
    { where: { or: [["n", "<", 2], ["tag", "in", ["y"]]] }, limit: 4 },
    { orderBy: [["n", "asc"]], startAfter: [1], endAt: [6], limit: 2 },
    { where: ["tags", "array-contains", "x"] },
  ];
  const step = fc.record({
    id: fc.constantFrom("a", "b", "c", "d", "e", "f", "g"),
    data: fc.option(fc.record({ n: fc.integer({ min: 0, max: 7 }), tag: fc.constantFrom("x", "y"), tags: fc.subarray(["x", "y"]) }), { nil: null }),
  });

  it("equals a fresh query after every change, and its changes rebuild the result (fast-check)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...queries), fc.array(step, { maxLength: 40 }), (body, steps) => {
        const nq = q(body);
        const live = new LiveResult(nq);
        const all = new Map<string, DocumentSnapshot>();
        const versions = new Map<string, number>();
        const fresh = () => runQueryInMemory([...all.values()], nq).docs;
        const client: DocumentSnapshot[] = [];
        applyToClient(client, live.reset(fresh()));
        for (const s of steps) {
          const v = (versions.get(s.id) ?? 0) + 1;
          versions.set(s.id, v);
          const next = s.data === null ? null : doc(s.id, s.data, v);
          if (next) all.set(`c/${s.id}`, next);
          else all.delete(`c/${s.id}`);
          const out = live.apply(`c/${s.id}`, next);
          applyToClient(client, out.changes);
          if (out.refill) applyToClient(client, live.reset(fresh()));
          const want = fresh().map((d) => [d.path, d.version]);
          expect(live.current.map((d) => [d.path, d.version])).toEqual(want);
          expect(client.map((d) => [d.path, d.version])).toEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});
