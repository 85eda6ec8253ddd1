// Debian's Chromium driven by playwright-core (which downloads no browser),
// for the demo's browser test and its screenshot. One launch setup for both.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const chromiumMissing = (path) =>
  `${path} is missing. The demo's browser test and screenshot drive Debian's Chromium: install it with ` +
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
 * tab. Throws, saying how to install it, when Chromium is missing.
 */
export async function launchChromium({ viewport = { width: 1200, height: 800 }, executablePath = CHROMIUM_PATH } = {}) {
  if (!existsSync(executablePath)) throw new Error(chromiumMissing(executablePath));
  const profile = mkdtempSync(join(tmpdir(), "blaze-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport });
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
