import { describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.mjs";

describe("launchChromium", () => {
  it("fails when Chromium is missing, saying how to install it", async () => {
    await expect(launchChromium({ executablePath: "/nonexistent/chromium" })).rejects.toThrow(
      "/nonexistent/chromium is missing. The demo's browser test and screenshot drive Debian's Chromium: install it with `sudo apt-get install -y chromium`",
    );
  });
});
