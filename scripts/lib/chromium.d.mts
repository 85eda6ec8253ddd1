import type { BrowserContext } from "playwright-core";
export const CHROMIUM_PATH: string;
export const CHROMIUM_MISSING: string;
export function launchChromium(opts?: { viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; close(): Promise<void> }>;
