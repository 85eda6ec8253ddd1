/** A plan as JSON for `"explain": true`: byte bounds as hex, a composite index by its id and fields. */
import type { FieldFilter } from "../core/query/normalize";
import type { EntryPredicate, QueryPlan, Scan } from "./plan-types";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function describeFilter(f: FieldFilter): string {
  return `${f.field} ${f.op} ${JSON.stringify(f.value)}`;
}

function describePredicate(p: EntryPredicate): Record<string, unknown> {
  const out: Record<string, unknown> = { field: p.field, entries: p.kind };
  if (p.points) out.points = p.points.map(hex);
  if (p.lower) out.from = { hex: hex(p.lower.bytes), inclusive: p.lower.inclusive };
  if (p.upper) out.to = { hex: hex(p.upper.bytes), inclusive: p.upper.inclusive };
  if (p.exclude.length) out.exclude = p.exclude.map(hex);
  if (!p.points && !p.lower && !p.upper) out.exists = true;
  return out;
}

function describeScan(s: Scan): Record<string, unknown> {
  switch (s.index) {
    case "documents":
      return { index: "documents" };
    case "field":
      return { index: "single-field", order: s.order === "value" ? "value, __name__" : "__name__", ...describePredicate(s.predicate) };
    case "search":
      return { index: "search", order: "bm25, __name__" };
    case "composite":
      return {
        index: "composite",
        from: s.range.lo ? hex(s.range.lo) : null,
        before: s.range.hi ? hex(s.range.hi) : null,
        ...(s.exclude.length ? { exclude: s.exclude.map((r) => ({ from: r.lo ? hex(r.lo) : null, before: r.hi ? hex(r.hi) : null })) } : {}),
      };
  }
}

/** A JSON description of the plan, for `"explain": true`. */
export function explainPlan(plan: QueryPlan): Record<string, unknown> {
  return {
    scope: plan.scope.kind === "collection" ? { collection: plan.scope.path } : { collectionGroup: plan.scope.collectionId },
    orderBy: plan.orderBy.map((o) => [o.field, o.direction]),
    limit: plan.limit,
    ...(plan.select ? { select: plan.select.map((s) => s.field) } : {}),
    ...(plan.search
      ? {
          search: {
            index: { id: plan.search.index.id, fields: plan.search.index.fields, tokenizer: plan.search.index.tokenizer },
            table: `search_${plan.search.index.id.slice(3)}`,
            match: plan.search.match,
            order: plan.search.relevance ? "relevance (bm25)" : "orderBy",
            ...(plan.search.relevance ? {} : { read: "the FTS5 matches, once per statement; a condition on every scan" }),
          },
        }
      : {}),
    ...(plan.aggregate ? { aggregate: plan.aggregate.map((a) => (a.op === "count" ? [a.alias, a.op] : [a.alias, a.op, a.field])) } : {}),
    disjunctions: plan.disjunctions.map((d) => ({
      rule: d.rule,
      filters: d.filters.map(describeFilter),
      ...(d.composite
        ? {
            index: {
              id: d.composite.index.id,
              queryScope: d.composite.index.queryScope,
              fields: d.composite.index.fields.map((f) => [f.fieldPath, f.arrayConfig ?? f.order]),
              scope: d.composite.scope,
              reversed: d.composite.reversed,
            },
          }
        : {}),
      scans: d.scans.map(describeScan),
      ...(d.residual.length ? { residual: d.residual.map(describePredicate) } : {}),
      ...(d.name ? { name: d.name } : {}),
      ...(d.start ? { start: { value: hex(d.start.value), name: d.start.name, inclusive: d.start.inclusive } } : {}),
      ...(d.end ? { end: { value: hex(d.end.value), name: d.end.name, inclusive: d.end.inclusive } } : {}),
    })),
  };
}
