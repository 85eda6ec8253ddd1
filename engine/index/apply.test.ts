import { describe, expect, it } from "vitest";
import type { DocumentData } from "../core/values";
import { APPLY_JSON_CHUNK_BYTES, ApplyRowTooLargeError, applyStatements, jsonChunks, toHex, type ResolvedChange } from "./apply";
import { parseIndexConfig } from "./config";
import { compile } from "./d1";

const set = (seq: number, path: string, data: DocumentData): ResolvedChange => ({
  shard: 1, seq, path, op: "set", version: seq, data, createTime: "t", updateTime: "t", existed: false,
});

const config = parseIndexConfig({
  indexes: [{ collectionGroup: "c", queryScope: "COLLECTION", fields: [{ fieldPath: "a", order: "ASCENDING" }, { fieldPath: "m.k", order: "DESCENDING" }] }],
  fieldOverrides: [],
});

describe("applyStatements", () => {
  it("applies a queue batch with a few statements of one JSON parameter each, within D1's limits", () => {
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, i]));
    // A full queue batch: 10 messages of 200 changes.
    const changes = [
      ...Array.from({ length: 1999 }, (_, i) => set(i + 1, `c/d${i}`, { a: i, tags: ["x", "y", `t${i}`], m: { k: i }, s: "é".repeat(200) })),
      set(2000, "c/wide", wide),
      { shard: 1, seq: 2001, path: "c/gone", op: "delete", version: 2, updateTime: "t", existed: true } as ResolvedChange,
    ];
    const statements = applyStatements(changes, config).map(compile);
    // documents (2 chunks), tombstones (2), index entries (2 chunks), composite entries, cleanup (2).
    expect(statements.length).toBeLessThanOrEqual(10);
    for (const s of statements) {
      expect(s.params).toHaveLength(1);
      expect(s.sql.length).toBeLessThan(2000);
      expect(new TextEncoder().encode(s.params[0] as string).length).toBeLessThanOrEqual(APPLY_JSON_CHUNK_BYTES);
    }
  });

  it("splits a table's rows into chunks under the JSON limit, never a row", () => {
    const big = "z".repeat(400_000);
    const changes = Array.from({ length: 5 }, (_, i) => set(i + 1, `c/big${i}`, { big, n: i }));
    const docs = applyStatements(changes).map(compile).filter((s) => s.sql.startsWith("INSERT INTO documents"));
    expect(docs).toHaveLength(3);
    const paths = docs.flatMap((s) => (JSON.parse(s.params[0] as string) as unknown[][]).map((r) => r[0]));
    expect(paths).toEqual(changes.map((c) => c.path));
    expect(jsonChunks([1, 2, 3], 6)).toEqual(["[1,2]", "[3]"]);
    expect(() => jsonChunks(["x".repeat(2_000_001)])).toThrow(ApplyRowTooLargeError);
  });

  it("counts UTF-8 bytes, not UTF-16 units, against the limit", () => {
    // 3 bytes a char: 100 chars make 302 bytes with the quotes.
    expect(jsonChunks(["€".repeat(100), "€".repeat(100)], 700)).toHaveLength(1);
    expect(jsonChunks(["€".repeat(100), "€".repeat(100)], 500)).toHaveLength(2);
    expect(jsonChunks(["😀".repeat(100), "😀".repeat(100)], 700)).toHaveLength(2);
  });

  it("keeps only the newest change of a path", () => {
    const statements = applyStatements([set(2, "c/a", { v: 2 }), set(1, "c/a", { v: 1 })]);
    const text = statements.map((s) => JSON.stringify(compile(s).params)).join(" ");
    expect(text).toContain('{\\"v\\":2}');
    expect(text).not.toContain('{\\"v\\":1}');
  });

  it("writes bytes as hex", () => {
    expect(toHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe("0001abff");
  });
});
