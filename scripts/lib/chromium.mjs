// Debian's Chromium driven by playwright-core (which downloads no browser),
// for the demo's browser test and its screenshot. One launch setup for both.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_MISSING =
  `${CHROMIUM_PATH} is missing. The demo's browser test drives Debian's Chromium: install it with ` +
  "`sudo apt-get install -y chromium` (CI's .ci/run installs it when missing).";

// There is no network here: without the background-networking flags
// Chromium keeps trying to reach Google's services (updates, sync, QUIC probes).
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts headless Chromium with a fresh profile (its own --user-data-dir,
 * removed on close). Resolves to a browser context: each `newPage()` is a
 * tab. Throws CHROMIUM_MISSING when Chromium is not installed.
 */
export async function launchChromium({ viewport = { width: 1200, height: 800 } } = {}) {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
  const profile = mkdtempSync(join(tmpdir(), "blaze-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS, viewport });
    return {
      context,
      close: async () => {
        await context.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
