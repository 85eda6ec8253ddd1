import { describe, expect, it } from "vitest";
import { LatencyTracker, latencyStats } from "./latency";

describe("write-to-update latency", () => {
  it("measures from the write call to the update that contains its key, once", () => {
    let now = 1000;
    const t = new LatencyTracker(() => now);
    const a = t.newKey();
    const b = t.newKey();
    expect(a).not.toBe(b);
    t.start(a);
    now = 1010;
    t.start(b);
    now = 1040;
    expect(t.seen(["someone-else", a])).toEqual([40]);
    expect(t.seen([a])).toEqual([]); // counted once
    now = 1050;
    expect(t.seen([b])).toEqual([40]);
  });

  it("forgets a write no update showed (filtered out) and a cancelled one", () => {
    let now = 0;
    const t = new LatencyTracker(() => now, 100);
    t.start("hidden");
    t.start("failed");
    t.cancel("failed");
    now = 500;
    t.start("next"); // prunes "hidden"
    expect(t.seen(["hidden", "failed"])).toEqual([]);
    expect(t.seen(["next"])).toEqual([0]);
  });

  it("summarises samples", () => {
    expect(latencyStats([])).toBeNull();
    expect(latencyStats([30, 10, 20])).toEqual({ count: 3, last: 20, median: 20, max: 30 });
  });
});
