import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("runs the worker", async () => {
  const res = await exports.default.fetch("http://x/");
  expect(await res.text()).toBe("ok");
  expect(env.DB).toBeDefined();
});
