/** The latency-compensation overlay on its own: local documents, query views, acknowledgement and rollback. */
import { describe, expect, it, vi } from "vitest";
import { normalizeQuery } from "../engine/core/query/normalize";
import { runQueryInMemory } from "../engine/core/query/evaluate";
import type { DocumentSnapshot as WireDoc, Write, WriteResult } from "../engine/core/writes";
import { ACK_GRACE_MS, PendingWrites, isPending } from "./pending-writes";

const server = (path: string, data: WireDoc["data"], version = 1): WireDoc => ({
  path,
  id: path.split("/").pop()!,
  data,
  version,
  createTime: "2026-01-01T00:00:00.000Z",
  updateTime: "2026-01-01T00:00:00.000Z",
});

/** A write held pending until `answer` is called; `results` are the acknowledgement's. */
function hold(p: PendingWrites, writes: Write[]) {
  let settle!: (r: WriteResult[] | Error) => void;
  const done = p
    .track(
      writes,
      () => new Promise<WriteResult[]>((resolve, reject) => (settle = (r) => (r instanceof Error ? reject(r) : resolve(r)))),
    )
    .catch((e: Error) => e);
  const ack = (path: string, version: number) => settle([{ path, version, updateTime: "2026-01-01T00:00:01.000Z", token: "t" }]);
  return { done, ack, fail: (e: Error) => settle(e) };
}

/** An overlay whose listeners hold these server versions (what the writes were made against). */
function overlayOver(versions: Record<string, number> = {}) {
  const p = new PendingWrites();
  p.watch({ render: () => {}, versionOf: (path) => versions[path] });
  return p;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("PendingWrites.overlay", () => {
  it("applies sets, merges, updates with transforms and deletes in order over the server copy", () => {
    const p = overlayOver({ "c/a": 1 });
    const base = server("c/a", { n: 1, tags: ["x"], keep: true });
    hold(p, [{ op: "update", path: "c/a", data: { n: { $increment: 2 }, tags: { $arrayUnion: ["y"] } } }]);
    hold(p, [{ op: "set", path: "c/a", data: { m: { k: 1 } }, merge: true }]);
    hold(p, [{ op: "update", path: "c/a", data: { keep: { $delete: true }, tags: { $arrayRemove: ["x"] } } }]);
    const local = p.overlay("c/a", base)!;
    expect(local.data).toEqual({ n: 3, tags: ["y"], m: { k: 1 } });
    expect(isPending(local)).toBe(true);
    expect(local.version).toBe(1);
    expect(p.overlay("c/b", null)).toBeUndefined();
    hold(p, [{ op: "delete", path: "c/a" }]);
    expect(p.overlay("c/a", base)).toBeNull();
  });

  it("does not apply an update to a missing document (the server refuses it with not-found)", () => {
    const p = new PendingWrites();
    hold(p, [{ op: "update", path: "c/a", data: { n: 1 } }]);
    expect(p.overlay("c/a", null)).toBeUndefined();
    // A set then an update: the update applies to the local document.
    hold(p, [{ op: "set", path: "c/b", data: { n: 1 } }]);
    hold(p, [{ op: "update", path: "c/b", data: { n: { $increment: 1 } } }]);
    expect(p.overlay("c/b", null)!.data).toEqual({ n: 2 });
  });

  it("keeps serverTimestamp estimates with the value they replaced, dropped when a later write overwrites the field", () => {
    const p = overlayOver({ "c/a": 1 });
    const base = server("c/a", { at: "old", x: 1 });
    hold(p, [{ op: "update", path: "c/a", data: { at: { $serverTimestamp: true }, "m.t": { $serverTimestamp: true } } }]);
    let local = p.overlay("c/a", base)!;
    expect(local.estimates.map((e) => [e.path.join("."), e.previous])).toEqual([
      ["at", "old"],
      ["m.t", undefined],
    ]);
    expect(local.estimates[0].value).toHaveProperty("$timestamp");
    hold(p, [{ op: "update", path: "c/a", data: { at: 5 } }]);
    local = p.overlay("c/a", base)!;
    expect(local.estimates.map((e) => e.path.join("."))).toEqual(["m.t"]);
    expect(local.data.at).toBe(5);
  });

  it("drops a refused write (rollback) and rejects with its error", async () => {
    const p = new PendingWrites();
    const seen = vi.fn();
    p.watch({ render: seen, versionOf: () => undefined });
    const w = hold(p, [{ op: "set", path: "c/a", data: { n: 1 } }]);
    await tick();
    expect(seen).toHaveBeenCalledTimes(1);
    expect(p.overlay("c/a", null)!.data).toEqual({ n: 1 });
    const err = new Error("permission-denied");
    w.fail(err);
    expect(await w.done).toBe(err);
    await tick();
    expect(seen).toHaveBeenCalledTimes(2);
    expect(p.overlay("c/a", null)).toBeUndefined();
    expect(p.size).toBe(0);
  });

  it("before its acknowledgement, a server copy newer than the listeners held is shown as is (it may hold the write)", () => {
    const p = overlayOver({ "c/a": 1 });
    hold(p, [{ op: "update", path: "c/a", data: { n: { $increment: 1 } } }]);
    expect(p.overlay("c/a", server("c/a", { n: 1 }, 1))!.data).toEqual({ n: 2 });
    expect(p.overlay("c/a", server("c/a", { n: 2 }, 2))).toBeUndefined(); // not 3
  });

  it("an acknowledged write stays until the server copy reaches its version, or the grace period ends", async () => {
    vi.useFakeTimers();
    try {
      const p = overlayOver({ "c/a": 7 });
      const w = hold(p, [{ op: "set", path: "c/a", data: { n: 2 } }]);
      w.ack("c/a", 7);
      await w.done;
      expect(p.overlay("c/a", server("c/a", { n: 1 }, 6))!.data).toEqual({ n: 2 });
      expect(p.overlay("c/a", null)!.data).toEqual({ n: 2 });
      expect(p.overlay("c/a", server("c/a", { n: 2 }, 7))).toBeUndefined();
      // Acknowledged set, update, delete: once the server copy is gone, none of them resurrects it.
      const u = hold(p, [{ op: "update", path: "c/a", data: { n: 3 } }]);
      u.ack("c/a", 8);
      await u.done;
      const d = hold(p, [{ op: "delete", path: "c/a" }]);
      expect(p.overlay("c/a", server("c/a", { n: 2 }, 7))).toBeNull();
      d.ack("c/a", 9);
      await d.done;
      expect(p.overlay("c/a", null)).toBeUndefined();
      expect(p.overlay("c/a", server("c/a", { n: 3 }, 8))).toBeNull();
      vi.advanceTimersByTime(ACK_GRACE_MS);
      expect(p.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("PendingWrites.queryView", () => {
  const nq = normalizeQuery({ from: { collection: "c" }, where: ["n", ">", 0], orderBy: [["n", "asc"]], limit: 2 });
  const docs = [server("c/a", { n: 1 }), server("c/b", { n: 2 })];

  it("is the server's answer itself when nothing local touches it", () => {
    const p = new PendingWrites();
    expect(p.queryView(nq, docs)).toBe(docs);
    hold(p, [{ op: "update", path: "c/zzz", data: { n: 1 } }]); // not applicable: missing
    expect(p.queryView(nq, docs)).toBe(docs);
  });

  it("orders, filters and limits with the reference evaluator", () => {
    const p = overlayOver({ "c/a": 1, "c/b": 1 });
    hold(p, [{ op: "set", path: "c/new", data: { n: 0.5 } }]);
    const view = p.queryView(nq, docs);
    expect(view.map((d) => d.path)).toEqual(["c/new", "c/a"]); // the window of 2 pushes b out
    expect(isPending(view[0])).toBe(true);
    hold(p, [{ op: "update", path: "c/a", data: { n: -1 } }]); // leaves the filter
    expect(p.queryView(nq, docs).map((d) => d.path)).toEqual(["c/new", "c/b"]);
    hold(p, [{ op: "set", path: "other/x", data: { n: 0.1 } }]); // another collection
    const all = [...docs, p.overlay("c/new", null)!, p.overlay("c/a", docs[0])!];
    expect(p.queryView(nq, docs)).toEqual(runQueryInMemory(all.filter((d) => d.path !== "c/a" || "pending" in d), nq).docs);
  });
});
