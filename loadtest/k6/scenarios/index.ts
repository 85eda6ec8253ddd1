// Every scenario by name, for the Node harness (each k6 entry imports its own).
import { listeners } from "./listeners.ts";
import { mixed } from "./mixed.ts";
import { queryHeavy } from "./query-heavy.ts";
import type { Scenario } from "../lib/scenario.ts";
import { soak } from "./soak.ts";
import { writeHeavy } from "./write-heavy.ts";

export const SCENARIOS: Record<string, Scenario> = {
  "write-heavy": writeHeavy,
  "query-heavy": queryHeavy,
  listeners,
  mixed,
  soak,
};
