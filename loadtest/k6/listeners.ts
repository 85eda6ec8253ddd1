// k6 run -e BLAZE_URL=https://blaze.example.workers.dev [-e BLAZE_KEY=...] [-e DURATION=30s] [-e SCALE=1] loadtest/k6/listeners.ts
import { k6Entry } from "./lib/k6-runtime.ts";
import { listeners as scenario } from "./scenarios/listeners.ts";

const entry = k6Entry(scenario);
export const options = entry.options;
export const setup = entry.setup;
export const listeners = entry.group("listeners");
export const writers = entry.group("writers");
