// k6 run -e BLAZE_URL=https://blaze.example.workers.dev [-e BLAZE_KEY=...] -e DURATION=10m [-e SCALE=1] loadtest/k6/soak.ts
import { k6Entry } from "./lib/k6-runtime.ts";
import { soak } from "./scenarios/soak.ts";

const entry = k6Entry(soak);
export const options = entry.options;
export const setup = entry.setup;
export const writers = entry.group("writers");
export const readers = entry.group("readers");
export const listeners = entry.group("listeners");
