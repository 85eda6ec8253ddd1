// k6 run -e BLAZE_URL=https://blaze.example.workers.dev [-e BLAZE_KEY=...] [-e DURATION=30s] [-e SCALE=1] loadtest/k6/mixed.ts
import { k6Entry } from "./lib/k6-runtime.ts";
import { mixed } from "./scenarios/mixed.ts";

const entry = k6Entry(mixed);
export const options = entry.options;
export const setup = entry.setup;
export const writers = entry.group("writers");
export const readers = entry.group("readers");
export const listeners = entry.group("listeners");
