// Write-heavy: closed-loop writers; mostly whole-document writes, with
// exactly-once increments and atomic batches across shards.
import { increment, writeBatch, writeRegister } from "../lib/ops.ts";
import { rng, type Runtime } from "../lib/runtime.ts";
import { weighted, type Scenario } from "../lib/scenario.ts";
import type { Layout } from "../lib/ops.ts";

/** One write: 70% PUT, 20% $increment, 10% batch. */
export const writeMix = (rt: Runtime, L: Layout) =>
  weighted(rt, rng(rt)(), [
    [70, () => writeRegister(rt, L)],
    [20, () => increment(rt, L)],
    [10, () => writeBatch(rt, L)],
  ]);

export const writeHeavy: Scenario = {
  name: "write-heavy",
  description: "8 writers: 70% PUT, 20% $increment with Idempotency-Key, 10% POST /v1/batch (2-3 documents)",
  groups: {
    writers: { vus: 8, iteration: writeMix },
  },
  thresholds: {
    "http_req_duration{name:write}": ["p(95)<1000"],
    "http_req_duration{name:batch}": ["p(95)<2000"],
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.95"],
  },
};
