/**
 * Cursors (startAt / endAt) resolved against the order a scan really reads:
 * fixed positions decided at plan time, the rest a bound on the name or on
 * (value, name).
 */
import type { Value } from "../core/values";
import { compareBytes, encodeValue } from "../index/encoding";
import type { Cursor, Direction, OrderSpec } from "../core/query/normalize";
import type { NameBound, NamePredicate, TupleBound } from "./plan-types";
import { isName, refPath, tightenName, tighterName } from "./name-predicate";

export interface CursorComponent {
  order: OrderSpec;
  value: Value;
}

export type CursorBound =
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "bound"; components: CursorComponent[]; inclusive: boolean };

/**
 * A cursor over the orderBy, as a bound over the fields a scan really orders
 * by. Positions on fixed fields (constant in the result, or fixed in this
 * scan) compare at plan time: they either decide for every document or
 * pass the decision on to the next position.
 */
export function resolveCursor(
  cursor: Cursor | null,
  role: "start" | "end",
  orderBy: OrderSpec[],
  fixed: Map<string, Uint8Array>,
): CursorBound {
  if (!cursor) return { kind: "all" };
  const components: CursorComponent[] = [];
  for (let i = 0; i < cursor.values.length; i++) {
    const order = orderBy[i];
    const c = isName(order) ? undefined : fixed.get(order.field);
    if (c === undefined) {
      components.push({ order, value: cursor.values[i] });
      continue;
    }
    // Where the documents' fixed value sits relative to the cursor's, in query order.
    let cmp = compareBytes(c, encodeValue(cursor.values[i]));
    if (order.direction === "desc") cmp = -cmp;
    if (cmp === 0) continue;
    const included = role === "start" ? cmp > 0 : cmp < 0;
    if (components.length === 0) return { kind: included ? "all" : "none" };
    return { kind: "bound", components, inclusive: included };
  }
  if (components.length === 0) return { kind: cursor.inclusive ? "all" : "none" };
  return { kind: "bound", components, inclusive: cursor.inclusive };
}

/** A name-ordered scan: the cursor is a bound on the name. */
export function foldNameCursor(
  name: NamePredicate | null,
  bound: Extract<CursorBound, { kind: "bound" }>,
  role: "start" | "end",
  direction: Direction,
): NamePredicate | "never" {
  const b: NameBound = { path: refPath(bound.components[0].value), inclusive: bound.inclusive };
  const p: NamePredicate = name ? { ...name } : { points: null, lower: null, upper: null, exclude: [] };
  if ((role === "start") === (direction === "asc")) p.lower = tighterName(p.lower, b, 1);
  else p.upper = tighterName(p.upper, b, -1);
  return tightenName(p);
}

export function tupleBound(bound: Extract<CursorBound, { kind: "bound" }>): TupleBound {
  const [first, second] = bound.components;
  return { value: encodeValue(first.value), name: second ? refPath(second.value) : null, inclusive: bound.inclusive };
}
