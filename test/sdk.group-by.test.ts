/** The SDK's group-by and minimum/maximum against the real Worker (HTTP only). */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Timestamp, collection, count, getAggregateFromServer, initializeBlaze, limit, maximum, minimum, orderBy, query, sum, where, type BlazeError } from "blaze/sdk";
import { BASE, seed } from "./helpers";

const db = () => initializeBlaze({ url: BASE, fetch: (req) => exports.default.fetch(req) });

describe("sdk: group-by aggregates", () => {
  it("getAggregateFromServer(query, spec, { groupBy }) gives groups in key order and pages with next", async () => {
    await seed({
      "sdkgb/a": { city: "Oslo", age: 30, at: { $timestamp: "2024-05-01T00:00:00Z" } },
      "sdkgb/b": { city: "Oslo", age: 40 },
      "sdkgb/c": { city: "Rome", age: 25 },
      "sdkgb/d": { city: "Bergen", age: 50 },
    });
    const c = collection(db(), "sdkgb");
    const all = await getAggregateFromServer(c, { n: count(), total: sum("age"), youngest: minimum("age"), first: minimum("at") }, { groupBy: "city" });
    expect(all.groups.map((g) => [g.key, g.data()])).toEqual([
      [["Bergen"], { n: 1, total: 50, youngest: 50, first: null }],
      [["Oslo"], { n: 2, total: 70, youngest: 30, first: Timestamp.fromDate(new Date("2024-05-01T00:00:00Z")) }],
      [["Rome"], { n: 1, total: 25, youngest: 25, first: null }],
    ]);
    expect(all.next).toBeNull();

    const page = await getAggregateFromServer(query(c, where("age", ">=", 30)), { n: count() }, { groupBy: ["city"], limit: 1 });
    expect(page.groups.map((g) => g.key)).toEqual([["Bergen"]]);
    expect(page.next).toEqual(["Bergen"]);
    const rest = await getAggregateFromServer(query(c, where("age", ">=", 30)), { n: count() }, { groupBy: ["city"], limit: 1, startAfter: page.next! });
    expect(rest.groups.map((g) => [g.key, g.data()])).toEqual([[["Oslo"], { n: 2 }]]);

    // Without groupBy: minimum and maximum over the whole result.
    expect((await getAggregateFromServer(c, { lo: minimum("age"), hi: maximum("city") })).data()).toEqual({ lo: 25, hi: "Rome" });
  });

  it("refuses a query with orderBy or limit (groups come in key order)", async () => {
    const c = collection(db(), "sdkgb");
    for (const q of [query(c, orderBy("age")), query(c, limit(2))]) {
      await expect(getAggregateFromServer(q, { n: count() }, { groupBy: "city" })).rejects.toMatchObject({ code: "invalid-argument" } satisfies Partial<BlazeError>);
    }
  });
});
