/**
 * The body of `POST /v1/query` (design.md, "Query body") as a zod schema, and
 * `parseQuery`, which checks its shape and turns every problem into one
 * INVALID_ARGUMENT whose message names it. Only the shape is checked here;
 * Firestore's rules on what a query may say (limits, operator combinations,
 * operand types, field paths, document names) live in normalize.ts.
 */
import * as z from "zod";
import { invalidArgument } from "../errors";
import type { Value } from "../values";
import { QUERY_SHAPE_LIMITS } from "./limits";
import type { TextSearchMode, TextTokenizer } from "./text-search";

export const OPERATORS = [
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "array-contains",
  "array-contains-any",
  "in",
  "not-in",
] as const;
export type Operator = (typeof OPERATORS)[number];

export type Direction = "asc" | "desc";

/** `[field, op, value]`; `field` is a dotted field path or `__name__`. */
export type FieldFilterAst = [field: string, op: Operator, value: Value];
export type FilterAst = FieldFilterAst | { and: FilterAst[] } | { or: FilterAst[] };

export type AggregateAst = { count: true } | { sum: string } | { avg: string } | { min: string } | { max: string };

export type FromAst = { collection: string } | { collectionGroup: string };

/** Full-text search (docs/search.md): served by a declared search index. */
export interface SearchAst {
  text: string;
  /** Fields to search, all declared in one search index; left out: every field of the collection's first search index. */
  fields?: string[];
  /** words (default): every word; phrase: the words in a row; prefix: every word starts a word. */
  mode?: TextSearchMode;
  /** The search index's tokenizer; filled in from the index used when left out. */
  tokenizer?: TextTokenizer;
}

export interface QueryAst {
  from: FromAst;
  where?: FilterAst;
  /** Full-text search; without orderBy the results are ordered by relevance (bm25). */
  search?: SearchAst;
  /** Direction defaults to "asc" when the body leaves it out. */
  orderBy?: [field: string, direction: Direction][];
  limit?: number;
  limitToLast?: number;
  startAt?: Value[];
  startAfter?: Value[];
  endAt?: Value[];
  endBefore?: Value[];
  select?: string[];
  aggregate?: Record<string, AggregateAst>;
  /**
   * Group the aggregates by these fields (core/query/group-by.ts): one
   * result per distinct key, ordered by key; `limit` then counts groups and
   * `startAfter` is a group key to continue after.
   */
  groupBy?: string[];
  /** A write token: wait until the index has applied that write. */
  after?: string;
  /** "strong" (default): see every write acknowledged before the query; "eventual": read the index as it is. */
  consistency?: "strong" | "eventual";
  explain?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A union that picks its branch from the input's shape instead of trying them
 * all, so an error names what is wrong inside the intended branch ("unknown
 * operator") rather than zod's "Invalid input" for the union as a whole.
 */
function oneOf<T>(expected: string, pick: (input: unknown) => z.ZodType<T> | undefined): z.ZodType<T> {
  return z.unknown().transform((input, ctx) => {
    const schema = pick(input);
    if (!schema) {
      ctx.addIssue({ code: "custom", message: `expected ${expected}` });
      return z.NEVER;
    }
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }) as unknown as z.ZodType<T>;
}

/**
 * A value's shape is checked by core/values.ts when the query is normalized
 * (tagged types, depth); here it only has to be present.
 */
const ValueSchema = z.custom<Value>((v) => v !== undefined, { error: "a value is required" });

const FieldSchema = z.string({ error: "a field path must be a string" }).min(1, "a field path must not be empty");

const OperatorSchema = z.enum(OPERATORS, {
  error: (issue) =>
    `unknown operator ${JSON.stringify(issue.input)}; expected one of ${OPERATORS.map((o) => `"${o}"`).join(", ")}`,
});

const FIELD_FILTER_SHAPE = "a field filter [field, operator, value]";
const FILTER_SHAPES = `${FIELD_FILTER_SHAPE}, {"and": [filters]} or {"or": [filters]}`;

const FieldFilterSchema = z.tuple([FieldSchema, OperatorSchema, ValueSchema], {
  error: `expected ${FIELD_FILTER_SHAPE}`,
});

const FilterSchema: z.ZodType<FilterAst> = z.lazy(() =>
  oneOf<FilterAst>(FILTER_SHAPES, (input) => {
    if (Array.isArray(input)) return FieldFilterSchema;
    if (isObject(input) && "and" in input) return AndSchema;
    if (isObject(input) && "or" in input) return OrSchema;
    return undefined;
  }),
);
const filterList = (name: string) =>
  z
    .array(FilterSchema, { error: `"${name}" takes an array of filters` })
    .min(1, `"${name}" needs at least one filter`);
const AndSchema = z.strictObject({ and: filterList("and") });
const OrSchema = z.strictObject({ or: filterList("or") });

const FromSchema = oneOf<FromAst>('{"collection": path} or {"collectionGroup": id}', (input) => {
  if (isObject(input) && "collection" in input) {
    return z.strictObject({ collection: z.string({ error: "collection must be a path string" }) });
  }
  if (isObject(input) && "collectionGroup" in input) {
    return z.strictObject({ collectionGroup: z.string({ error: "collectionGroup must be an id string" }) });
  }
  return undefined;
});

const OrderBySchema = z
  .array(
    z
      .tuple([FieldSchema, z.enum(["asc", "desc"], { error: 'direction must be "asc" or "desc"' }).optional()], {
        error: 'expected [field] or [field, "asc" | "desc"]',
      })
      .transform(([field, direction]): [string, Direction] => [field, direction ?? "asc"]),
    { error: "orderBy takes an array of [field, direction]" },
  )
  .max(QUERY_SHAPE_LIMITS.maxOrderBy, `orderBy takes at most ${QUERY_SHAPE_LIMITS.maxOrderBy} fields`);

const LimitSchema = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .positive(`${name} must be positive`)
    .max(QUERY_SHAPE_LIMITS.maxLimit, `${name} must be at most ${QUERY_SHAPE_LIMITS.maxLimit}`);

const CursorSchema = (name: string) =>
  z
    .array(ValueSchema, { error: `${name} takes an array of values, one per orderBy field` })
    .min(1, `${name} needs at least one value`);

const FIELD_AGGREGATES = ["sum", "avg", "min", "max"] as const;

const AggregateSchema = oneOf<AggregateAst>('{"count": true}, {"sum": field}, {"avg": field}, {"min": field} or {"max": field}', (input) => {
  if (isObject(input) && "count" in input) {
    return z.strictObject({ count: z.literal(true, { error: 'count takes the value true' }) });
  }
  const op = isObject(input) ? FIELD_AGGREGATES.find((o) => o in input) : undefined;
  return op === undefined ? undefined : (z.strictObject({ [op]: FieldSchema }) as unknown as z.ZodType<AggregateAst>);
});

const SearchSchema = z.strictObject(
  {
    text: z
      .string({ error: "search.text must be a string" })
      .max(QUERY_SHAPE_LIMITS.maxSearchTextChars, `search.text takes at most ${QUERY_SHAPE_LIMITS.maxSearchTextChars} characters`),
    fields: z.array(FieldSchema, { error: "search.fields takes an array of field paths" }).min(1, "search.fields needs at least one field").optional(),
    mode: z.enum(["words", "phrase", "prefix"], { error: 'search.mode must be "words", "phrase" or "prefix"' }).optional(),
    tokenizer: z.enum(["unicode61", "trigram"], { error: 'search.tokenizer must be "unicode61" or "trigram"' }).optional(),
  },
  { error: (issue) => (issue.code === "invalid_type" ? 'search takes {"text": ..., "fields"?: [...], "mode"?: ...}' : undefined) },
);

export const QuerySchema: z.ZodType<QueryAst> = z
  .strictObject(
    {
      from: FromSchema,
      where: FilterSchema.optional(),
      search: SearchSchema.optional(),
      orderBy: OrderBySchema.optional(),
      limit: LimitSchema("limit").optional(),
      limitToLast: LimitSchema("limitToLast").optional(),
      startAt: CursorSchema("startAt").optional(),
      startAfter: CursorSchema("startAfter").optional(),
      endAt: CursorSchema("endAt").optional(),
      endBefore: CursorSchema("endBefore").optional(),
      select: z
        .array(FieldSchema, { error: "select takes an array of field paths" })
        .max(QUERY_SHAPE_LIMITS.maxSelectFields, `select takes at most ${QUERY_SHAPE_LIMITS.maxSelectFields} fields`)
        .optional(),
      aggregate: z
        .record(z.string().min(1, "an aggregation alias must not be empty"), AggregateSchema, {
          error: "aggregate takes an object of alias: aggregation",
        })
        .refine((a) => Object.keys(a).length >= 1, "aggregate needs at least one aggregation")
        .refine(
          (a) => Object.keys(a).length <= QUERY_SHAPE_LIMITS.maxAggregations,
          `aggregate takes at most ${QUERY_SHAPE_LIMITS.maxAggregations} aggregations`,
        )
        .optional(),
      groupBy: z
        .array(FieldSchema, { error: "groupBy takes an array of field paths" })
        .min(1, "groupBy needs at least one field")
        .max(QUERY_SHAPE_LIMITS.maxGroupByFields, `groupBy takes at most ${QUERY_SHAPE_LIMITS.maxGroupByFields} fields`)
        .optional(),
      after: z.string({ error: "after must be a write token string" }).min(1, "after must not be empty").optional(),
      explain: z.boolean({ error: "explain must be a boolean" }).optional(),
      consistency: z.enum(["strong", "eventual"], { error: 'consistency must be "strong" or "eventual"' }).optional(),
    },
    { error: (issue) => (issue.code === "invalid_type" ? "the query body must be a JSON object" : undefined) },
  )
  .superRefine((q, ctx) => {
    const both = (a: keyof typeof q, b: keyof typeof q) => {
      if (q[a] !== undefined && q[b] !== undefined) {
        ctx.addIssue({ code: "custom", message: `${a} and ${b} cannot both be given`, path: [b] });
      }
    };
    both("limit", "limitToLast");
    both("startAt", "startAfter");
    both("endAt", "endBefore");
    both("select", "aggregate");
    if (q.search !== undefined && q.groupBy !== undefined) {
      ctx.addIssue({ code: "custom", message: "search cannot be combined with groupBy", path: ["groupBy"] });
    }
    if (q.groupBy !== undefined && q.aggregate === undefined) {
      ctx.addIssue({ code: "custom", message: "groupBy needs an aggregate: the aggregations to compute per group", path: ["groupBy"] });
    }
  }) as unknown as z.ZodType<QueryAst>;

/** `where.and[0][1]`: a zod issue path as a reader would write it. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

const MAX_ISSUES_IN_MESSAGE = 3;

/** Checks the shape of a query body. Throws INVALID_ARGUMENT naming every problem found. */
export function parseQuery(body: unknown): QueryAst {
  let result: ReturnType<typeof QuerySchema.safeParse>;
  try {
    result = QuerySchema.safeParse(body);
  } catch (e) {
    // A body nested deeply enough to exhaust the stack is bad input, not a 500.
    if (e instanceof RangeError) throw invalidArgument("invalid query: the body is nested too deeply");
    throw e;
  }
  if (result.success) return result.data;
  const issues = result.error.issues;
  const parts = issues
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message));
  if (issues.length > MAX_ISSUES_IN_MESSAGE) parts.push(`and ${issues.length - MAX_ISSUES_IN_MESSAGE} more`);
  throw invalidArgument(`invalid query: ${parts.join("; ")}`, {
    issues: issues.map((i) => ({ path: formatPath(i.path), code: i.code, message: i.message })),
  });
}
