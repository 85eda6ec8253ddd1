import { describe, expect, it } from "vitest";
import { fts5Query, matchesText, tokenize } from "./text-search";

describe("tokenize", () => {
  it("splits on everything but letters and numbers, folds case and diacritics", () => {
    expect(tokenize("Café au-lait, NAÏVE x1_y2 東京!")).toEqual(["cafe", "au", "lait", "naive", "x1", "y2", "東京"]);
    expect(tokenize(" ,.!? ")).toEqual([]);
    // Decomposed input folds like precomposed.
    expect(tokenize("Cafe\u0301")).toEqual(["cafe"]);
  });
});

describe("matchesText", () => {
  const texts = ["The quick brown fox", "jumps over the lazy dog"];
  it("words: every query token is a token of some field", () => {
    expect(matchesText(texts, "FOX dog")).toBe(true);
    expect(matchesText(texts, "fox cat")).toBe(false);
    expect(matchesText(texts, "qui")).toBe(false);
  });
  it("phrase: consecutive, in order, within one field", () => {
    expect(matchesText(texts, "quick brown", "phrase")).toBe(true);
    expect(matchesText(texts, "brown quick", "phrase")).toBe(false);
    expect(matchesText(texts, "fox jumps", "phrase")).toBe(false);
  });
  it("prefix: every query token starts a token", () => {
    expect(matchesText(texts, "qui la", "prefix")).toBe(true);
    expect(matchesText(texts, "qui cat", "prefix")).toBe(false);
  });
  it("a query without tokens matches nothing", () => {
    expect(matchesText(texts, " ... ")).toBe(false);
    expect(fts5Query(" ... ")).toBeNull();
  });
});

describe("fts5Query", () => {
  it("quotes every token, so no user text is FTS5 syntax", () => {
    expect(fts5Query('NEAR(a b) OR "x"')).toBe('"near" AND "a" AND "b" AND "or" AND "x"');
    expect(fts5Query("quick brown", "phrase")).toBe('"quick brown"');
    expect(fts5Query("qu br", "prefix")).toBe('"qu"* AND "br"*');
  });
});
