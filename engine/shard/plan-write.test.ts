import { describe, expect, it } from "vitest";
import { BlazeError } from "../core/errors";
import { parseIndexConfig } from "../index/config";
import { planWrite } from "./plan-write";

const now = new Date("2026-01-01T00:00:00Z");
const set = (data: Record<string, unknown>) => ({ op: "set" as const, path: "posts/p1", data: data as never });

describe("planWrite: index entries counted before the write is acknowledged", () => {
  // tags: 1 value entry + 1 per distinct element; plus the document's other field.
  const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

  it("counts composite rows: an array-contains field makes one row per distinct element", () => {
    const config = parseIndexConfig({
      indexes: [
        {
          collectionGroup: "posts",
          queryScope: "COLLECTION",
          fields: [
            { fieldPath: "tags", arrayConfig: "CONTAINS" },
            { fieldPath: "n", order: "ASCENDING" },
          ],
        },
      ],
    });
    // 2 + 600 single-field entries: fine alone, over 1,000 with 600 composite rows.
    expect(planWrite(null, set({ n: 1, tags: tags(600) }), now).op).toBe("set");
    let err: unknown;
    try {
      planWrite(null, set({ n: 1, tags: tags(600) }), now, config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlazeError);
    expect((err as BlazeError).code).toBe("INVALID_ARGUMENT");
    expect((err as BlazeError).details).toEqual({ count: 1202, composite: 600, limit: 1000 });
    // Without the field the index needs, no composite rows.
    expect(planWrite(null, set({ tags: tags(600) }), now, config).op).toBe("set");
  });
});
