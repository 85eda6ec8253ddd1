import { describe, expect, it } from "vitest";
import type { ResolvedChange } from "../index/apply";
import type { LiveRegistration } from "../index/live-registrations";
import { routeChanges } from "./live-notify";

const reg = (key: string, query: Record<string, unknown>, collection = "c"): LiveRegistration => ({
  query_key: key,
  collection_id: collection,
  query: JSON.stringify({ from: { collection }, ...query }),
});
let seq = 0;
const set = (id: string, data: Record<string, unknown>, collection = "c"): ResolvedChange => ({
  shard: 0, seq: ++seq, path: `${collection}/${id}`, op: "set", version: seq, data: data as never, updateTime: "t", existed: true,
});
const del = (id: string): ResolvedChange => ({ shard: 0, seq: ++seq, path: `c/${id}`, op: "delete", version: seq, updateTime: "t", existed: true });
const routed = (r: Map<string, ResolvedChange[]>) => Object.fromEntries([...r].map(([k, cs]) => [k, cs.map((c) => c.path)]));

describe("routeChanges", () => {
  it("sends a change to the live queries it can enter, and to those whose result holds the document", () => {
    const regs = [
      reg("oslo", { where: ["city", "==", "Oslo"] }),
      reg("rome", { where: ["city", "==", "Rome"] }),
      reg("adults", { where: ["age", ">=", 18] }),
      reg("other", { where: ["city", "==", "Oslo"] }, "d"),
    ];
    const changes = [set("a", { city: "Oslo", age: 10 }), set("b", { city: "Bern", age: 30 }), del("x"), set("y", { city: "Bern", age: 1 })];
    const members = [
      { query_key: "rome", path: "c/y" }, // leaves rome
      { query_key: "adults", path: "c/x" }, // deleted
    ];
    expect(routed(routeChanges(regs, members, changes))).toEqual({ oslo: ["c/a"], adults: ["c/b", "c/x"], rome: ["c/y"] });
  });

  it("indexes equality: -0 and 0 are one value; a query without one is checked for every change", () => {
    const regs = [reg("zero", { where: ["n", "==", 0] }), reg("all", {})];
    const changes = [set("a", { n: { $double: "-0" } }), set("b", { n: 1 })];
    expect(routed(routeChanges(regs, [], changes))).toEqual({ zero: ["c/a"], all: ["c/a", "c/b"] });
  });

  it("sends every change of its collection to an aggregate query", () => {
    const regs = [reg("count", { where: ["n", "==", 1], aggregate: { k: { count: true } } })];
    expect(routed(routeChanges(regs, [], [set("a", { n: 2 }), del("b")]))).toEqual({ count: ["c/a", "c/b"] });
  });
});
