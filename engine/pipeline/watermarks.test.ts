import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advanceWatermark } from "./watermarks";

describe("advanceWatermark", () => {
  it("advances over contiguous and overlapping runs only", () => {
    expect(advanceWatermark(0, [{ fromSeq: 1, toSeq: 3 }, { fromSeq: 5, toSeq: 6 }])).toBe(3);
    expect(advanceWatermark(0, [{ fromSeq: 5, toSeq: 6 }, { fromSeq: 1, toSeq: 4 }])).toBe(6);
    expect(advanceWatermark(4, [{ fromSeq: 2, toSeq: 7 }])).toBe(7);
    expect(advanceWatermark(4, [{ fromSeq: 6, toSeq: 7 }])).toBe(4);
  });

  it("equals the highest seq below the first missing one, whatever the order of the runs", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 5 })), { maxLength: 30 }), (raw) => {
        const ranges = raw.map(([from, len]) => ({ fromSeq: from, toSeq: from + len }));
        const covered = new Set(ranges.flatMap((r) => Array.from({ length: r.toSeq - r.fromSeq + 1 }, (_, i) => r.fromSeq + i)));
        let expected = 0;
        while (covered.has(expected + 1)) expected++;
        expect(advanceWatermark(0, ranges)).toBe(expected);
      }),
    );
  });
});

describe("watermarkRowsQuery", () => {
  it("binds no parameters, so any number of shards fits one statement", async () => {
    const { compile } = await import("../index/d1");
    const { watermarkRowsQuery } = await import("./watermarks");
    const shards = Array.from({ length: 300 }, (_, i) => i);
    expect(compile(watermarkRowsQuery(shards)).params).toHaveLength(0);
    expect(() => watermarkRowsQuery([1, -2])).toThrow();
  });
});

describe("applied state", () => {
  it("tells applied runs from missing ones, and counts what the index holds", async () => {
    const { watermarksFromRows, isApplied, appliedCount, highestApplied } = await import("./watermarks");
    const rows = [
      { k: "w" as const, shard: 1, from_seq: 10, to_seq: 10 },
      { k: "r" as const, shard: 1, from_seq: 11, to_seq: 12 },
      { k: "r" as const, shard: 1, from_seq: 20, to_seq: 25 },
      { k: "r" as const, shard: 1, from_seq: 24, to_seq: 30 },
      { k: "r" as const, shard: 1, from_seq: 3, to_seq: 5 },
    ];
    const s = watermarksFromRows(rows, [1]).get(1)!;
    expect(s.watermark).toBe(12);
    expect(s.above).toEqual([{ fromSeq: 20, toSeq: 30 }]);
    expect(isApplied(s, 1, 12)).toBe(true);
    expect(isApplied(s, 8, 21)).toBe(false);
    expect(isApplied(s, 12, 13)).toBe(false);
    expect(isApplied(s, 21, 30)).toBe(true);
    expect(isApplied(s, 25, 31)).toBe(false);
    expect(appliedCount(s)).toBe(12 + 11);
    expect(highestApplied(s)).toBe(30);
  });
});
