/**
 * k6 thresholds evaluated on the Node harness's metrics, so a scenario
 * passes or fails by the same rules under both: `metric{name:x}` and
 * `p(95)<500`, `avg<`, `max<`, `med<`, `rate<0.01`, `count>`.
 */
import { summarize } from "../measure.mjs";
import type { Metrics } from "./metrics.ts";

export interface ThresholdResult {
  metric: string;
  expression: string;
  value: number;
  ok: boolean;
}

const METRIC = /^(\w+)(?:\{name:([^}]+)\})?$/;
const EXPRESSION = /^(p\((\d+(?:\.\d+)?)\)|avg|min|max|med|rate|count)\s*(<=|<|>=|>|==)\s*(-?[\d.]+)$/;

function values(m: Metrics, metric: string): { samples: number[]; rate?: number } {
  const [, base, name] = METRIC.exec(metric) ?? [];
  if (!base) throw new Error(`threshold metric ${JSON.stringify(metric)}: expected name or name{name:tag}`);
  if (base === "http_req_duration") return { samples: m.samples(name).map((s) => s.ms) };
  if (base === "http_req_failed") {
    const s = m.samples(name);
    return { samples: [], rate: s.length ? s.filter((x) => x.failed).length / s.length : 0 };
  }
  if (base === "checks") {
    let pass = 0;
    let total = 0;
    for (const c of m.checks.values()) {
      pass += c.pass;
      total += c.pass + c.fail;
    }
    return { samples: [], rate: total ? pass / total : 1 };
  }
  return { samples: (m.trends.get(base) ?? []).map((s) => s.ms) };
}

export function evaluate(thresholds: Record<string, string[]>, m: Metrics): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  for (const [metric, expressions] of Object.entries(thresholds)) {
    const v = values(m, metric);
    for (const expression of expressions) {
      const match = EXPRESSION.exec(expression.replace(/\s+/g, ""));
      if (!match) throw new Error(`threshold ${metric}: cannot read ${JSON.stringify(expression)}`);
      const [, agg, p, op, limit] = match;
      const s = v.samples.length ? summarize(v.samples) : undefined;
      const sorted = [...v.samples].sort((a, b) => a - b);
      const value =
        agg === "rate" ? (v.rate ?? 0)
        : agg === "count" ? v.samples.length
        : !s ? 0
        : agg === "avg" ? s.mean
        : agg === "min" ? sorted[0]
        : agg === "max" ? s.max
        : agg === "med" ? s.p50
        : sorted[Math.min(sorted.length - 1, Math.floor((Number(p) / 100) * sorted.length))];
      const l = Number(limit);
      const ok = op === "<" ? value < l : op === "<=" ? value <= l : op === ">" ? value > l : op === ">=" ? value >= l : value === l;
      out.push({ metric, expression, value, ok });
    }
  }
  return out;
}
