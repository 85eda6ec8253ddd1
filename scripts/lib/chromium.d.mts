import type { BrowserContext } from "playwright-core";
export const CHROMIUM_PATH: string;
export function chromiumMissing(path: string): string;
export function launchChromium(opts?: {
  viewport?: { width: number; height: number };
  /** Default: Debian's /usr/bin/chromium. */
  executablePath?: string;
}): Promise<{ context: BrowserContext; close(): Promise<void> }>;
