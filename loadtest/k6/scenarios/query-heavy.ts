// Query-heavy: selective queries and reads while one writer keeps the
// collection changing (strongly consistent queries wait for it).
import { queryRegisters, readDoc, writeRegister } from "../lib/ops.ts";
import { pick, rng } from "../lib/runtime.ts";
import { weighted, type Scenario } from "../lib/scenario.ts";

export const queryHeavy: Scenario = {
  name: "query-heavy",
  description: "8 readers: 80% POST /v1/query (equality filter, limit 20), 20% GET; 1 writer paced at ~20 writes/s",
  groups: {
    readers: {
      vus: 8,
      iteration: (rt, L) =>
        weighted(rt, rng(rt)(), [
          [80, () => queryRegisters(rt, L)],
          [20, () => readDoc(rt, pick(rt, L.registers))],
        ]),
    },
    writer: {
      vus: 1,
      iteration: async (rt, L) => {
        await writeRegister(rt, L);
        await rt.sleep(50);
      },
    },
  },
  thresholds: {
    "http_req_duration{name:query}": ["p(95)<1500"],
    "http_req_duration{name:read}": ["p(95)<1000"],
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.95"],
  },
};
