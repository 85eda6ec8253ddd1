/** D1 bindings that fail on purpose, for fault tests: the real binding behind a Proxy. */

/** `db` with its `batch` replaced; everything else is the real binding's. */
export function withBatch(db: D1Database, batch: (stmts: D1PreparedStatement[]) => Promise<D1Result[]>): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") return batch;
      const v = (target as any)[prop];
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as D1Database;
}

/** `db` refusing every call, as a D1 that is down. */
export function unavailable(db: D1Database): D1Database {
  const refuse = () => {
    throw new Error("D1_ERROR: injected fault: D1 unavailable");
  };
  return new Proxy(db, { get: (_t, prop) => (prop === "prepare" || prop === "batch" || prop === "exec" ? refuse : (db as any)[prop]) }) as D1Database;
}
