import { describe, expect, it } from "vitest";
import { DEFAULT_FLOW_TARGET_MS, FLOW_MAX_WAIT_MS, FLOW_REFRESH_MS, FlowControl, flowTargetMs, flowWaitMs, unappliedAgeMs, type FlowStore } from "./flow-control";

/** A shard whose outbox starts at `oldestSeq`, each change committed at `committedAt[seq]`. */
function store(state: { oldestSeq: number | null; committedAt: Record<number, number> }): FlowStore {
  return {
    indexLag: () => ({ oldestSeq: state.oldestSeq }),
    committedAfter: (seq) => state.committedAt[seq + 1] ?? null,
  };
}

function harness(target: number, state: { oldestSeq: number | null; committedAt: Record<number, number> }, onRefresh = () => {}) {
  const clock = { now: 10_000, refreshes: 0, slept: [] as number[] };
  const flow = new FlowControl({
    targetMs: () => target,
    refresh: async () => {
      clock.refreshes++;
      onRefresh();
    },
    sleep: async (ms) => void clock.slept.push(ms),
    now: () => clock.now,
  });
  return { flow, clock, s: store(state) };
}

describe("flowTargetMs", () => {
  it("defaults when unset, is off at 0 or nonsense, else the number", () => {
    expect(flowTargetMs(undefined)).toBe(DEFAULT_FLOW_TARGET_MS);
    expect(flowTargetMs("")).toBe(DEFAULT_FLOW_TARGET_MS);
    expect(flowTargetMs("0")).toBe(0);
    expect(flowTargetMs("-5")).toBe(0);
    expect(flowTargetMs("soon")).toBe(0);
    expect(flowTargetMs("2500")).toBe(2500);
  });
});

describe("flowWaitMs", () => {
  it("is 0 up to the target, grows with the age past it, and is capped", () => {
    expect(flowWaitMs(4999, 5000)).toBe(0);
    expect(flowWaitMs(5000, 5000)).toBe(0);
    expect(flowWaitMs(6000, 5000)).toBe(500);
    expect(flowWaitMs(7000, 5000)).toBe(1000);
    expect(flowWaitMs(60_000, 5000)).toBe(FLOW_MAX_WAIT_MS);
    expect(flowWaitMs(60_000, 0)).toBe(0);
  });
});

describe("unappliedAgeMs", () => {
  it("is the age of the oldest change in the outbox, 0 when it is empty", () => {
    expect(unappliedAgeMs(store({ oldestSeq: null, committedAt: {} }), 1000)).toBe(0);
    expect(unappliedAgeMs(store({ oldestSeq: 7, committedAt: { 7: 400, 8: 900 } }), 1000)).toBe(600);
  });
});

describe("FlowControl.pace", () => {
  it("lets writes through without reading anything while the index is within the target", async () => {
    const { flow, clock, s } = harness(5000, { oldestSeq: 3, committedAt: { 3: 9000 } });
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(0);
    expect(flow.stats.delayed).toBe(0);
  });

  it("asks D1 first, and does not wait when the index had in fact applied the outbox", async () => {
    const state = { oldestSeq: 3 as number | null, committedAt: { 3: 1000 } };
    const { flow, clock, s } = harness(5000, state, () => (state.oldestSeq = null));
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(1);
    expect(clock.slept).toEqual([]);
  });

  it("waits in proportion to the lag, and asks D1 at most once a second", async () => {
    const { flow, clock, s } = harness(5000, { oldestSeq: 3, committedAt: { 3: 3000 } }); // 7 s old: 2 s past the target
    expect(await flow.pace(s)).toBe(1000);
    expect(await flow.pace(s)).toBe(1000);
    expect(clock.refreshes).toBe(1);
    clock.now += FLOW_REFRESH_MS;
    expect(await flow.pace(s)).toBe(1500);
    expect(clock.refreshes).toBe(2);
    expect(clock.slept).toEqual([1000, 1000, 1500]);
    expect(flow.stats).toEqual({ delayed: 3, waitedMs: 3500 });
  });

  it("asks D1 again after the target when the target is shorter than a second", async () => {
    const { flow, clock, s } = harness(200, { oldestSeq: 3, committedAt: { 3: 9000 } }); // 1 s behind
    await flow.pace(s);
    clock.now += 199;
    await flow.pace(s);
    expect(clock.refreshes).toBe(1);
    clock.now += 1;
    await flow.pace(s);
    expect(clock.refreshes).toBe(2);
  });

  it("still paces when D1 cannot be read", async () => {
    const { clock, s } = harness(5000, { oldestSeq: 3, committedAt: { 3: 3000 } });
    const flow = new FlowControl({ targetMs: () => 5000, refresh: () => Promise.reject(new Error("D1 down")), sleep: async () => {}, now: () => clock.now });
    expect(await flow.pace(s)).toBe(1000);
  });

  it("is off at target 0", async () => {
    const { flow, clock, s } = harness(0, { oldestSeq: 3, committedAt: { 3: 0 } });
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(0);
  });
});
