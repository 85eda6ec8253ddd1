import { describe, expect, it } from "vitest";
import type { IndexProgress } from "../pipeline/drain";
import { backlogAgeMs, DEFAULT_FLOW_TARGET_MS, FLOW_MAX_WAIT_MS, FLOW_REFRESH_MS, FlowControl, flowTargetMs, flowWaitMs, type FlowDeps, type FlowStore } from "./flow-control";

interface State {
  /** Lowest seq in the outbox, null when empty. */
  oldestSeq: number | null;
  /** Commit time (ms) of each change by seq. */
  committedAt: Record<number, number>;
  /** The highest seq the index holds, as the shard knows it. */
  highest?: number;
}

function store(state: State): FlowStore {
  return {
    oldestOutboxSeq: () => state.oldestSeq,
    indexProgress: () => (state.highest === undefined ? null : ({ highest: state.highest } as IndexProgress)),
    committedAfter: (seq) => {
      const next = Object.keys(state.committedAt).map(Number).filter((s) => s > seq).sort((a, b) => a - b)[0];
      return next === undefined ? null : state.committedAt[next];
    },
  };
}

function harness(target: number, state: State, overrides: Partial<FlowDeps> = {}, onRefresh = () => {}) {
  const clock = { now: 10_000, refreshes: 0, slept: [] as number[] };
  const flow = new FlowControl({
    targetMs: () => target,
    sendsFailing: () => false,
    refresh: async () => {
      clock.refreshes++;
      onRefresh();
    },
    sleep: async (ms) => void clock.slept.push(ms),
    now: () => clock.now,
    ...overrides,
  });
  return { flow, clock, s: store(state) };
}

describe("flowTargetMs", () => {
  it("defaults when unset or not a number, is off at 0 or less, else the number", () => {
    expect(flowTargetMs(undefined)).toBe(DEFAULT_FLOW_TARGET_MS);
    expect(flowTargetMs("")).toBe(DEFAULT_FLOW_TARGET_MS);
    expect(flowTargetMs("2s")).toBe(DEFAULT_FLOW_TARGET_MS);
    expect(flowTargetMs("0")).toBe(0);
    expect(flowTargetMs("-5")).toBe(0);
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

describe("backlogAgeMs", () => {
  it("is the age of the oldest change in the outbox, 0 when it is empty", () => {
    expect(backlogAgeMs(store({ oldestSeq: null, committedAt: {} }), 1000)).toBe(0);
    expect(backlogAgeMs(store({ oldestSeq: 7, committedAt: { 7: 400, 8: 900 } }), 1000)).toBe(600);
  });

  it("skips gaps the index is already past: a lost change below the highest applied seq is not a backlog", () => {
    // seq 7 lost (waiting for its resend), 8..9 applied above it, 10 not yet: the backlog starts at 10.
    const committedAt = { 7: 100, 8: 200, 9: 300, 10: 800 };
    expect(backlogAgeMs(store({ oldestSeq: 7, committedAt, highest: 9 }), 1000)).toBe(200);
    expect(backlogAgeMs(store({ oldestSeq: 7, committedAt: { 7: 100, 8: 200 }, highest: 8 }), 1000)).toBe(0);
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
    const state: State = { oldestSeq: 3, committedAt: { 3: 1000 } };
    const { flow, clock, s } = harness(5000, state, {}, () => (state.oldestSeq = null));
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(1);
    expect(clock.slept).toEqual([]);
  });

  it("writes arriving during that read wait for it and judge on what it found", async () => {
    const state: State = { oldestSeq: 3, committedAt: { 3: 1000 } };
    let finish!: () => void;
    const { flow, clock, s } = harness(5000, state, {
      refresh: () => {
        clock.refreshes++;
        return new Promise<void>((resolve) => (finish = () => ((state.oldestSeq = null), resolve())));
      },
    });
    const writes = [flow.pace(s), flow.pace(s), flow.pace(s)];
    await Promise.resolve();
    finish();
    expect(await Promise.all(writes)).toEqual([0, 0, 0]);
    expect(clock.refreshes).toBe(1);
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
    const { flow, s } = harness(5000, { oldestSeq: 3, committedAt: { 3: 3000 } }, { refresh: () => Promise.reject(new Error("D1 down")) });
    expect(await flow.pace(s)).toBe(1000);
  });

  it("does not wait while the shard's queue sends fail (the consumer is not what is behind)", async () => {
    const { flow, clock, s } = harness(5000, { oldestSeq: 3, committedAt: { 3: 0 } }, { sendsFailing: () => true });
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(0);
  });

  it("is off at target 0", async () => {
    const { flow, clock, s } = harness(0, { oldestSeq: 3, committedAt: { 3: 0 } });
    expect(await flow.pace(s)).toBe(0);
    expect(clock.refreshes).toBe(0);
  });
});
