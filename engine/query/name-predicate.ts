/**
 * Filters on the document name (`__name__`) as a NamePredicate over full
 * paths, compared in Firestore's reference order.
 */
import { BlazeError } from "../core/errors";
import { compareValues, type Value } from "../core/values";
import { DOCUMENT_NAME, type FieldFilter } from "../core/query/normalize";
import type { NameBound, NamePredicate } from "./plan-types";

export const isName = (f: { field: string }) => f.field === DOCUMENT_NAME;
const compareNames = (a: string, b: string) => compareValues({ $ref: a }, { $ref: b });
export const refPath = (v: Value) => (v as { $ref: string }).$ref;

export function namePredicate(filters: FieldFilter[]): NamePredicate | null | "never" {
  if (filters.length === 0) return null;
  let p: NamePredicate = { points: null, lower: null, upper: null, exclude: [] };
  for (const f of filters) {
    const one = refPath(f.value);
    const many = () => (f.value as Value[]).map(refPath);
    switch (f.op) {
      case "==":
      case "in": {
        const list = f.op === "==" ? [one] : many();
        p.points = p.points ? p.points.filter((x) => list.includes(x)) : list;
        break;
      }
      case "<":
      case "<=":
        p.upper = tighterName(p.upper, { path: one, inclusive: f.op === "<=" }, -1);
        break;
      case ">":
      case ">=":
        p.lower = tighterName(p.lower, { path: one, inclusive: f.op === ">=" }, 1);
        break;
      case "!=":
        p.exclude.push(one);
        break;
      case "not-in":
        p.exclude.push(...many());
        break;
      default:
        throw new BlazeError("INVALID_ARGUMENT", `'${f.op}' is not supported on __name__`);
    }
  }
  return tightenName(p);
}

/** The tighter of two name bounds; `side` 1 for lower bounds, -1 for upper. */
export function tighterName(a: NameBound | null, b: NameBound, side: 1 | -1): NameBound {
  if (!a) return b;
  const c = compareNames(a.path, b.path) * side;
  return c > 0 || (c === 0 && !a.inclusive) ? a : b;
}

function nameWithin(path: string, p: NamePredicate): boolean {
  if (p.lower) {
    const c = compareNames(path, p.lower.path);
    if (c < 0 || (c === 0 && !p.lower.inclusive)) return false;
  }
  if (p.upper) {
    const c = compareNames(path, p.upper.path);
    if (c > 0 || (c === 0 && !p.upper.inclusive)) return false;
  }
  return !p.exclude.includes(path);
}

export function tightenName(p: NamePredicate): NamePredicate | "never" {
  if (p.points) {
    const points = [...new Set(p.points)].filter((x) => nameWithin(x, p)).sort(compareNames);
    return points.length === 0 ? "never" : { points, lower: null, upper: null, exclude: [] };
  }
  if (p.lower && p.upper) {
    const c = compareNames(p.lower.path, p.upper.path);
    if (c > 0 || (c === 0 && !(p.lower.inclusive && p.upper.inclusive))) return "never";
  }
  return { ...p, exclude: [...new Set(p.exclude)].sort(compareNames) };
}
