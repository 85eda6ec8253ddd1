// k6 run -e BLAZE_URL=https://blaze.example.workers.dev [-e BLAZE_KEY=...] [-e DURATION=30s] [-e SCALE=1] loadtest/k6/write-heavy.ts
import { k6Entry } from "./lib/k6-runtime.ts";
import { writeHeavy } from "./scenarios/write-heavy.ts";

const entry = k6Entry(writeHeavy);
export const options = entry.options;
export const setup = entry.setup;
export const writers = entry.group("writers");
