// `npm run screenshot`: docs/demo.png, the demo with a few tasks, taken in
// the same headless Chromium as the browser test, on a fresh `wrangler dev`
// with its own state folder (your `npm start` data is not touched).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, migrate, startDevServer } from "../loadtest/lib/dev-server.mjs";
import { launchChromium } from "./lib/chromium.mjs";

const OUT = join(ROOT, "docs", "demo.png");
const TASKS = [
  ["Ship the porting guide", "doing", "ada", 3],
  ["Review the idempotency change", "todo", "grace", 3],
  ["Benchmark live queries on 2 cores", "todo", "linus", 2],
  ["Write the D1 analytics examples", "done", "margaret", 2],
  ["Fix flaky reconnect test", "done", "ada", 3],
  ["Add composite index docs", "todo", "margaret", 1],
  ["Try the board in two tabs", "doing", "grace", 1],
];

const persistTo = mkdtempSync(join(tmpdir(), "blaze-screenshot-"));
const browser = await launchChromium({ viewport: { width: 1100, height: 680 } });
let server;
try {
  await migrate({ persistTo });
  server = await startDevServer({ persistTo });
  const writes = TASKS.map(([title, status, owner, priority], i) => ({
    op: "set",
    path: `tasks/t${i}`,
    data: { title, status, owner, priority, createdAt: { $serverTimestamp: true }, rev: "seed" },
  }));
  const res = await fetch(`${server.url}/v1/batch`, { method: "POST", body: JSON.stringify({ writes }) });
  if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);

  const page = await browser.context.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector("[data-testid=tasks][data-shown]");
  // One write through the page, so the latency meter has a figure.
  await page.getByLabel("New task title").fill("Record a demo screenshot");
  await page.getByLabel("New task priority").selectOption("high");
  await page.getByRole("button", { name: "Add task" }).click();
  await page.getByTestId("latency").waitFor();
  await page.getByTestId("explain").waitFor();
  await page.screenshot({ path: OUT });
  console.log(`${OUT}: ${Math.round(statSync(OUT).size / 1024)} KB`);
} finally {
  await browser.close();
  await server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
}
