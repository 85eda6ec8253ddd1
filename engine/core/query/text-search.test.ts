import { describe, expect, it } from "vitest";
import { fts5Query, matchesSearch, matchesText, searchableText, searchExpression, tokenize } from "./text-search";

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

describe("searchableText", () => {
  it("takes strings and an array's strings, nothing else", () => {
    expect(searchableText("a b")).toBe("a b");
    expect(searchableText(["a", 1, "b", { c: "d" }])).toBe("a\nb");
    expect(searchableText(12)).toBe("");
    expect(searchableText(undefined)).toBe("");
    expect(searchableText({ $timestamp: "2020-01-01T00:00:00Z" })).toBe("");
  });
});

describe("trigram matching", () => {
  const texts = ["SKU-12345 Blue Widget", "made in Zürich"];
  it("matches each whitespace-separated term as a case-folded substring", () => {
    expect(matchesSearch(texts, "widg 234", "words", "trigram")).toBe(true);
    expect(matchesSearch(texts, "zür", "words", "trigram")).toBe(true);
    expect(matchesSearch(texts, "zur", "words", "trigram")).toBe(false); // diacritics are kept
    expect(matchesSearch(texts, "blue widget", "phrase", "trigram")).toBe(true);
    expect(matchesSearch(texts, "widget blue", "phrase", "trigram")).toBe(false);
    expect(matchesSearch(texts, "widget blue", "words", "trigram")).toBe(true);
  });
  it("matches nothing with a term under 3 characters, as FTS5's trigram tokenizer", () => {
    expect(matchesSearch(texts, "bl", "words", "trigram")).toBe(false);
    expect(searchExpression("bl", "words", "trigram")).toBeNull();
    expect(searchExpression('wid"get 12345', "words", "trigram")).toBe('"wid""get" AND "12345"');
    expect(searchExpression("Blue  Widget", "phrase", "trigram")).toBe('"blue widget"');
  });
  it("is matchesText / fts5Query for unicode61", () => {
    expect(matchesSearch(texts, "blue", "words", "unicode61")).toBe(true);
    expect(searchExpression("quick bro", "prefix", "unicode61")).toBe(fts5Query("quick bro", "prefix"));
  });
});
