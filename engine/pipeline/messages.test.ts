import { describe, expect, it } from "vitest";
import type { Change } from "../core/writes";
import { groupForSendBatch, isChangeMessage, packMessages } from "./messages";

const change = (seq: number, data: Record<string, unknown> = { n: seq }): Change => ({
  shard: 1, seq, path: `c/d${seq % 3}`, op: "set", version: seq, data: data as any, createTime: "t", updateTime: "t", existed: false,
});

describe("packMessages", () => {
  it("packs contiguous seqs into one message and starts a new one at a gap", () => {
    const packed = packMessages(1, [1, 2, 3, 5, 6].map((s) => change(s)));
    expect(packed.map((p) => [p.message.fromSeq, p.message.toSeq])).toEqual([[1, 3], [5, 6]]);
    expect(packed.every((p) => isChangeMessage(p.message))).toBe(true);
  });

  it("keeps each message under the byte and change limits", () => {
    const changes = Array.from({ length: 30 }, (_, i) => change(i + 1, { s: "x".repeat(10_000) }));
    const packed = packMessages(1, changes, { maxBytes: 50_000, maxChanges: 4, maxInline: 40_000 });
    for (const p of packed) {
      expect(p.message.changes.length).toBeLessThanOrEqual(4);
      expect(new TextEncoder().encode(JSON.stringify(p.message)).length).toBeLessThan(50_000);
    }
    expect(packed.flatMap((p) => p.message.changes.map((c) => c.seq))).toEqual(changes.map((c) => c.seq));
  });

  it("sends a large document by reference, charged at the inline limit", () => {
    const big = Array.from({ length: 6 }, (_, i) => change(i + 1, { s: "y".repeat(70_000) }));
    const packed = packMessages(1, big, { maxBytes: 120_000, maxChanges: 50, maxInline: 50_000 });
    expect(packed.every((p) => p.message.changes.every((c) => c.byRef && c.data === undefined))).toBe(true);
    // 120 KB / 50 KB: at most two references per message bounds what the consumer fetches.
    expect(Math.max(...packed.map((p) => p.message.changes.length))).toBe(2);
  });

  it("counts a reference's own bytes when its path is longer than the inline charge", () => {
    // A path past the 6 KiB cap cannot be written; the sizing must still be honest.
    const long = { ...change(1, { s: "z".repeat(70_000) }), path: `c/${"p".repeat(45_000)}` };
    const packed = packMessages(1, [long, change(2, { s: "z".repeat(70_000) })], { maxBytes: 60_000, maxChanges: 50, maxInline: 20_000 });
    expect(packed.map((p) => p.message.changes.length)).toEqual([1, 1]);
    expect(packed[0].bytes).toBeGreaterThan(45_000);
  });
});

describe("groupForSendBatch", () => {
  it("respects the count and byte limits of one sendBatch", () => {
    const msgs = Array.from({ length: 7 }, () => ({ bytes: 100 }));
    expect(groupForSendBatch(msgs, { maxMessages: 3, maxBytes: 10_000 }).map((g) => g.length)).toEqual([3, 3, 1]);
    expect(groupForSendBatch(msgs, { maxMessages: 100, maxBytes: 250 }).map((g) => g.length)).toEqual([2, 2, 2, 1]);
  });
});

describe("isChangeMessage", () => {
  it("rejects malformed bodies", () => {
    expect(isChangeMessage(null)).toBe(false);
    expect(isChangeMessage({ v: 1, shard: 1, fromSeq: 2, toSeq: 1, changes: [] })).toBe(false);
    expect(isChangeMessage({ v: 1, shard: 1, fromSeq: 1, toSeq: 1, changes: [{ seq: 5, path: "a/b", op: "set", data: {} }] })).toBe(false);
    expect(isChangeMessage({ v: 1, shard: 1, fromSeq: 1, toSeq: 1, changes: [{ seq: 1, path: "a/b", op: "set" }] })).toBe(false);
  });
});
