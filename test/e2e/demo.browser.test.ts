/**
 * The demo in a real browser: Debian's Chromium, driven by playwright-core,
 * on a real `wrangler dev`. Two tabs on the board: a change made in one
 * shows in the other within a second; the board's filters and sorting show
 * the documents POST /v1/query answers, in its order.
 *
 * Needs /usr/bin/chromium (`sudo apt-get install -y chromium`; .ci/run
 * installs it): without it this file fails, saying so.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, startDevServer, type DevServer } from "../../loadtest/lib/dev-server.mjs";
import { launchChromium } from "../../scripts/lib/chromium.mjs";

const persistTo = mkdtempSync(join(tmpdir(), "blaze-demo-"));
let server: DevServer | undefined;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const OWNERS = ["ada", "grace", "linus", "margaret"];
const STATUSES = ["todo", "doing", "done"];
/** 18 tasks: every owner and status, priorities with ties, distinct creation times. */
const SEED = Array.from({ length: 18 }, (_, i) => ({
  op: "set",
  path: `tasks/seed${String(i).padStart(2, "0")}`,
  data: {
    title: `seeded ${i}`,
    owner: OWNERS[i % 4],
    status: STATUSES[i % 3],
    priority: 1 + ((i * 7) % 3),
    createdAt: { $timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, (i * 11) % 18)).toISOString() },
    rev: "seed",
  },
}));

beforeAll(async () => {
  browser = await launchChromium(); // first: a missing Chromium fails fast, with how to install it
  await migrate({ persistTo });
  server = await startDevServer({ persistTo });
  const res = await fetch(`${server.url}/v1/batch`, { method: "POST", body: JSON.stringify({ writes: SEED }) });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

async function openBoard(): Promise<Page> {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server!.url}/`);
  await page.waitForSelector('[data-testid=tasks][data-shown="any|any|priority"]', { timeout: 15_000 }).catch((e) => {
    throw new Error(`the board did not show its first snapshot: ${e.message}\npage errors: ${errors.join("\n")}`);
  });
  return page;
}

const idsOnPage = (page: Page) => page.$$eval("[data-testid=tasks] li[data-id]", (els) => els.map((e) => (e as HTMLElement).dataset.id));

/** The task's row in `page`, as the user sees it (title, status), or null when it is not on the board. */
function rowOf(page: Page, title: string) {
  return page.evaluate((title) => {
    for (const li of document.querySelectorAll<HTMLElement>("[data-testid=tasks] li[data-id]")) {
      const input = li.querySelector<HTMLInputElement>('input[aria-label="Title"]');
      if (input?.value === title) return { id: li.dataset.id!, status: li.querySelector<HTMLSelectElement>('select[aria-label="Status"]')!.value };
    }
    return null;
  }, title);
}

/** Waits until `check` holds in `page`; returns how long it took (ms) since `t0`. */
async function shownAfter(page: Page, t0: number, check: () => Promise<boolean>, what: string): Promise<number> {
  const deadline = t0 + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the other tab never showed ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

const liveCount = async (page: Page) => Number(await page.getByTestId("live-count").innerText());

describe("the demo in Chromium", () => {
  it("shows a task added, changed and deleted in one tab in the other within a second", async () => {
    const [writer, watcher] = [await openBoard(), await openBoard()];
    // The user types in the front tab; the other stays in the background
    // (where Chromium throttles animation frames, which Playwright's clicks wait on).
    await writer.bringToFront();
    const before = await liveCount(watcher);
    expect(before).toBe(SEED.length);
    const title = `from the other tab ${Date.now()}`;

    let t0 = Date.now();
    await writer.getByLabel("New task title").fill(title);
    await writer.getByLabel("New task priority").selectOption("high");
    await writer.getByRole("button", { name: "Add task" }).click();
    const added = await shownAfter(watcher, t0, async () => (await rowOf(watcher, title)) !== null, "the added task");
    await expect.poll(() => liveCount(watcher), { timeout: 2_000 }).toBe(before + 1);

    const id = (await rowOf(writer, title))!.id;
    t0 = Date.now();
    await writer.locator(`li[data-id="${id}"] select[aria-label="Status"]`).selectOption("doing");
    const changed = await shownAfter(watcher, t0, async () => (await rowOf(watcher, title))?.status === "doing", "the status change");

    t0 = Date.now();
    await writer.locator(`li[data-id="${id}"] button[aria-label="Delete"]`).click();
    const deleted = await shownAfter(watcher, t0, async () => (await rowOf(watcher, title)) === null, "the delete");
    await expect.poll(() => liveCount(watcher), { timeout: 2_000 }).toBe(before);

    const own = await writer.getByTestId("latency").innerText();
    console.log(`other tab: added after ${added} ms, changed after ${changed} ms, deleted after ${deleted} ms; the writing tab's last write-to-update latency: ${own}`);
    expect(added).toBeLessThan(1000);
    expect(changed).toBeLessThan(1000);
    expect(deleted).toBeLessThan(1000);
    // The writer timed each of its three writes to its own board's update.
    expect(own).toMatch(/^\d+ ms$/);
    await expect.poll(() => writer.getByTestId("latency-stats").innerText()).toMatch(/ · 3 writes$/);
    await writer.close();
    await watcher.close();
  });

  it("filters and sorts on the server as POST /v1/query does", async () => {
    const page = await openBoard();
    const views = [
      { status: "any", owner: "any", sort: "priority" },
      { status: "any", owner: "any", sort: "created" },
      { status: "todo", owner: "any", sort: "priority" },
      { status: "doing", owner: "any", sort: "created" },
      { status: "any", owner: "grace", sort: "priority" },
      { status: "done", owner: "ada", sort: "created" },
      { status: "todo", owner: "linus", sort: "priority" },
    ];
    const labels: Record<string, string> = { any: "all", priority: "Priority", created: "Newest" };
    for (const view of views) {
      for (const [group, value] of [["Status", view.status], ["Owner", view.owner], ["Sort", view.sort]]) {
        await page.getByRole("group", { name: group }).getByRole("button", { name: labels[value] ?? value, exact: true }).click();
      }
      await page.waitForSelector(`[data-testid=tasks][data-shown="${view.status}|${view.owner}|${view.sort}"]`, { timeout: 10_000 });

      const where = [...(view.status === "any" ? [] : [["status", "==", view.status]]), ...(view.owner === "any" ? [] : [["owner", "==", view.owner]])];
      const body = {
        from: { collection: "tasks" },
        ...(where.length ? { where: { and: where } } : {}),
        orderBy: [[view.sort === "priority" ? "priority" : "createdAt", "desc"]],
        limit: 50,
      };
      const res = await fetch(`${server!.url}/v1/query`, { method: "POST", body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(view)).toBe(200);
      const want = ((await res.json()) as { docs: { id: string }[] }).docs.map((d) => d.id);
      expect(want.length, JSON.stringify(view)).toBeGreaterThan(0);
      await expect.poll(() => idsOnPage(page), { timeout: 3_000, message: JSON.stringify(view) }).toEqual(want);
      await expect.poll(() => liveCount(page), { timeout: 3_000, message: JSON.stringify(view) }).toBe(want.length);
    }
    await page.close();
  });
});
