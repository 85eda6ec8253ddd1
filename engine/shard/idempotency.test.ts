import { describe, expect, it } from "vitest";
import { OneAtATime } from "./idempotency";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("OneAtATime", () => {
  it("runs bodies of one key one after another, even after a failure; other keys and no key at once", async () => {
    const runs = new OneAtATime<string>();
    const log: string[] = [];
    const body = (name: string, fail = false) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = runs.run("k", body("a1", true));
    const a2 = runs.run("k", body("a2"));
    const b = runs.run("other", body("b"));
    const free = runs.run(undefined, body("free"));
    await expect(a1).rejects.toThrow("a1");
    expect(await Promise.all([a2, b, free])).toEqual(["a2", "b", "free"]);
    expect(log.indexOf("start a2")).toBeGreaterThan(log.indexOf("end a1"));
    expect(log.slice(0, 3)).toEqual(["start a1", "start b", "start free"]);
  });
});
