// k6 run -e BLAZE_URL=https://blaze.example.workers.dev [-e BLAZE_KEY=...] [-e DURATION=30s] [-e SCALE=1] loadtest/k6/query-heavy.ts
import { k6Entry } from "./lib/k6-runtime.ts";
import { queryHeavy } from "./scenarios/query-heavy.ts";

const entry = k6Entry(queryHeavy);
export const options = entry.options;
export const setup = entry.setup;
export const readers = entry.group("readers");
export const writer = entry.group("writer");
