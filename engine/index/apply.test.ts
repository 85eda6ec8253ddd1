import { describe, expect, it } from "vitest";
import type { DocumentData } from "../core/values";
import { applyStatements, type ResolvedChange } from "./apply";
import { parseIndexConfig } from "./config";
import { compile } from "./d1";

const set = (seq: number, path: string, data: DocumentData): ResolvedChange => ({
  shard: 1, seq, path, op: "set", version: seq, data, createTime: "t", updateTime: "t", existed: false,
});

describe("applyStatements", () => {
  it("keeps every statement within D1's 100 bound parameters, however large the batch", () => {
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, i]));
    const changes = [
      ...Array.from({ length: 120 }, (_, i) => set(i + 1, `c/d${i}`, { a: i, tags: ["x", "y", `t${i}`], m: { k: i } })),
      set(500, "c/wide", wide),
      { shard: 1, seq: 501, path: "c/gone", op: "delete", version: 2, updateTime: "t", existed: true } as ResolvedChange,
    ];
    const config = parseIndexConfig({
      indexes: [{ collectionGroup: "c", queryScope: "COLLECTION", fields: [{ fieldPath: "a", order: "ASCENDING" }, { fieldPath: "m.k", order: "DESCENDING" }] }],
      fieldOverrides: [],
    });
    const statements = applyStatements(changes, config);
    expect(statements.length).toBeGreaterThan(30);
    for (const s of statements) expect(compile(s).params.length).toBeLessThanOrEqual(100);
  });

  it("keeps only the newest change of a path", () => {
    const statements = applyStatements([set(2, "c/a", { v: 2 }), set(1, "c/a", { v: 1 })]);
    const text = statements.map((s) => JSON.stringify(compile(s).params)).join(" ");
    expect(text).toContain('"{\\"v\\":2}"');
    expect(text).not.toContain('"{\\"v\\":1}"');
  });
});
