import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics";
import { evaluate } from "./thresholds";

describe("thresholds as k6 reads them", () => {
  const m = new Metrics();
  for (let i = 1; i <= 100; i++) m.request(i % 2 ? "write" : "read", i, i > 98);
  m.check("ok", true);
  m.check("ok", false);
  m.trend("listener_lag", 500);

  it("evaluates percentiles per request name, failure rate, checks and trends", () => {
    const r = evaluate(
      {
        "http_req_duration{name:write}": ["p(95)<96", "max<=99"],
        http_req_duration: ["avg<50"],
        http_req_failed: ["rate<0.01"],
        checks: ["rate>0.4"],
        listener_lag: ["p(99)<400"],
      },
      m,
    );
    expect(r.map((t) => [t.metric, t.expression, t.value, t.ok])).toEqual([
      ["http_req_duration{name:write}", "p(95)<96", 95, true],
      ["http_req_duration{name:write}", "max<=99", 99, true],
      ["http_req_duration", "avg<50", 50.5, false],
      ["http_req_failed", "rate<0.01", 0.02, false],
      ["checks", "rate>0.4", 0.5, true],
      ["listener_lag", "p(99)<400", 500, false],
    ]);
  });

  it("refuses what it cannot read", () => {
    expect(() => evaluate({ http_req_duration: ["p95 < 3"] }, m)).toThrow(/cannot read/);
    expect(() => evaluate({ "bad{x": ["rate<1"] }, m)).toThrow(/expected name/);
  });
});
