/**
 * FTS5 in the D1 that Blaze runs on (local D1 in workerd here; D1 in
 * production is built with FTS5 too): the tokenizers issue 17 declares
 * (unicode61 with remove_diacritics, trigram) and bm25 work, and the pure
 * reference in engine/core/query/text-search.ts decides word, phrase and
 * prefix matches as FTS5 does, on random text.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fts5Query, matchesText, tokenize, type TextSearchMode } from "../engine/core/query/text-search";

const db = () => env.DB;

beforeAll(async () => {
  await db().batch([
    db().prepare(`CREATE VIRTUAL TABLE IF NOT EXISTS fts_probe USING fts5(a, b, tokenize = 'unicode61 remove_diacritics 2')`),
    db().prepare(`CREATE VIRTUAL TABLE IF NOT EXISTS fts_trigram USING fts5(t, tokenize = 'trigram')`),
  ]);
});
afterAll(async () => {
  await db().batch([db().prepare(`DROP TABLE IF EXISTS fts_probe`), db().prepare(`DROP TABLE IF EXISTS fts_trigram`)]);
});

describe("FTS5 in local D1", () => {
  it("has unicode61 with remove_diacritics, trigram and bm25", async () => {
    await db().batch([
      db().prepare(`DELETE FROM fts_probe`),
      db().prepare(`INSERT INTO fts_probe (rowid, a, b) VALUES (1, 'Café au lait', 'x'), (2, 'cafe cafe cafe', 'y'), (3, 'tea', 'Café')`),
      db().prepare(`DELETE FROM fts_trigram`),
      db().prepare(`INSERT INTO fts_trigram (rowid, t) VALUES (1, 'hello world'), (2, 'yellow')`),
    ]);
    const words = await db().prepare(`SELECT rowid FROM fts_probe WHERE fts_probe MATCH 'cafe' ORDER BY bm25(fts_probe)`).all<{ rowid: number }>();
    // Diacritics and case fold away; the document with the word three times ranks first.
    expect(words.results[0].rowid).toBe(2);
    expect(words.results.map((r) => r.rowid).sort()).toEqual([1, 2, 3]);
    const column = await db().prepare(`SELECT rowid FROM fts_probe WHERE fts_probe MATCH '{b}: cafe'`).all<{ rowid: number }>();
    expect(column.results.map((r) => r.rowid)).toEqual([3]);
    const substring = await db().prepare(`SELECT rowid FROM fts_trigram WHERE t MATCH 'ell' ORDER BY rowid`).all<{ rowid: number }>();
    expect(substring.results.map((r) => r.rowid)).toEqual([1, 2]);
  });
});

// NFC text in scripts whose case folding Unicode 6.1 and JavaScript agree on.
const WORDS = ["café", "Cafe", "CAFÉ", "naïve", "naive", "Ärger", "arger", "über", "Uber", "straße", "Ωmega", "ωmega", "Привет", "привет", "x1", "12", "a", "ab", "abc", "hello", "Hello", "world", "wörld", "東京", "ǅemal"];
const SEPARATORS = [" ", ", ", "-", ".", "!", "  ", "'", "_", "/", "\n"];
const textArb = fc
  .array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...SEPARATORS)), { maxLength: 6 })
  .map((parts) => parts.map(([w, s]) => w + s).join(""));
const queryArb = fc.oneof(
  textArb,
  // Prefixes of words, for prefix mode.
  fc.tuple(fc.constantFrom(...WORDS), fc.integer({ min: 1, max: 4 })).map(([w, n]) => w.slice(0, n)),
);

describe("the text-search reference agrees with FTS5 (property)", () => {
  it("tokenizes like unicode61 remove_diacritics 2", async () => {
    await fc.assert(
      fc.asyncProperty(textArb, async (text) => {
        await db().prepare(`DELETE FROM fts_probe`).run();
        await db().prepare(`INSERT INTO fts_probe (rowid, a, b) VALUES (1, ?, '')`).bind(text).run();
        // fts5vocab would need another table; instead every reference token must match, and the count agree.
        for (const t of new Set(tokenize(text))) {
          const hit = await db().prepare(`SELECT rowid FROM fts_probe WHERE fts_probe MATCH ?`).bind(`{a}: "${t}"`).first();
          expect(hit, `${JSON.stringify(text)} token ${t}`).not.toBeNull();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("decides words, phrase and prefix matches as FTS5 does", async () => {
    let compared = 0;
    let matched = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(textArb, textArb), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(queryArb, fc.constantFrom<TextSearchMode>("words", "phrase", "prefix")), { minLength: 1, maxLength: 6 }),
        async (docs, queries) => {
          await db().prepare(`DELETE FROM fts_probe`).run();
          await db().batch(docs.map(([a, b], i) => db().prepare(`INSERT INTO fts_probe (rowid, a, b) VALUES (?, ?, ?)`).bind(i + 1, a, b)));
          for (const [q, mode] of queries) {
            const want = docs.flatMap(([a, b], i) => (matchesText([a, b], q, mode) ? [i + 1] : []));
            const expr = fts5Query(q, mode);
            const got =
              expr === null
                ? []
                : (await db().prepare(`SELECT rowid FROM fts_probe WHERE fts_probe MATCH ? ORDER BY rowid`).bind(expr).all<{ rowid: number }>()).results.map((r) => r.rowid);
            expect(got, `${mode} ${JSON.stringify(q)} (${expr}) over ${JSON.stringify(docs)}`).toEqual(want);
            compared++;
            matched += want.length;
          }
        },
      ),
      { numRuns: 80 },
    );
    expect(compared).toBeGreaterThan(150);
    expect(matched).toBeGreaterThan(50);
  });
});
