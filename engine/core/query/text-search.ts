/**
 * The reference for full-text matching (issue 17, search): what SQLite
 * FTS5's `unicode61 remove_diacritics 2` tokenizer and its word, phrase and
 * prefix queries decide, restated over strings in memory, so a live search
 * query can match a changed document without D1 and the D1 side can be
 * tested against it (test/fts5.test.ts runs both on random text).
 *
 * - Tokens are maximal runs of letters, numbers and private-use characters
 *   (Unicode categories L*, N*, Co: FTS5's default `categories`); every
 *   other character separates.
 * - Tokens are folded to lower case and, as `remove_diacritics 2` does,
 *   stripped of combining marks after canonical decomposition (é → e).
 * - words: every query token is one of the text's tokens (in any field).
 *   phrase: the query's tokens appear consecutively, in order, in one
 *   field. prefix: every query token starts some token of the text.
 *   A query with no token matches nothing.
 *
 * Known limits: FTS5 folds by its own Unicode 6.1 tables, JavaScript by the
 * runtime's Unicode; they agree on Latin, Greek and Cyrillic text, which is
 * what the test checks. Characters with multi-character lower case (İ) or
 * scripts added after Unicode 6.1 may tokenize differently.
 */

export type TextSearchMode = "words" | "phrase" | "prefix";

const TOKEN = /[\p{L}\p{N}\p{Co}\p{M}]+/gu;
const MARKS = /\p{M}/gu;

/** The tokens of a text as FTS5's unicode61 tokenizer with remove_diacritics 2 produces them. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  // Marks stay inside a token until folding removes them, as FTS5 treats a diacritic as part of its letter.
  for (const m of text.normalize("NFD").matchAll(TOKEN)) {
    const folded = m[0].toLowerCase().replace(MARKS, "").normalize("NFC");
    if (folded !== "") out.push(folded);
  }
  return out;
}

/** True if the query matches the texts (one per searched field) in the given mode. */
export function matchesText(texts: readonly string[], query: string, mode: TextSearchMode = "words"): boolean {
  const terms = tokenize(query);
  if (terms.length === 0) return false;
  const fields = texts.map(tokenize);
  switch (mode) {
    case "words": {
      const all = new Set(fields.flat());
      return terms.every((t) => all.has(t));
    }
    case "prefix":
      return terms.every((t) => fields.some((f) => f.some((w) => w.startsWith(t))));
    case "phrase":
      return fields.some((f) => f.some((_, i) => terms.every((t, j) => f[i + j] === t)));
  }
}

/** The FTS5 MATCH expression for a query: each token quoted, so no user text is FTS5 syntax. */
export function fts5Query(query: string, mode: TextSearchMode = "words"): string | null {
  const terms = tokenize(query);
  if (terms.length === 0) return null;
  const quoted = terms.map((t) => `"${t.replaceAll('"', '""')}"`);
  switch (mode) {
    case "words":
      return quoted.join(" AND ");
    case "prefix":
      return quoted.map((q) => `${q}*`).join(" AND ");
    case "phrase":
      return `"${terms.join(" ").replaceAll('"', '""')}"`;
  }
}

/** How an index splits text: unicode61 words (above), or trigram substrings. */
export type TextTokenizer = "unicode61" | "trigram";

/** FTS5's trigram tokenizer matches no term shorter than this. */
export const TRIGRAM_MIN_CHARS = 3;

/**
 * The text a field value contributes to a search: a string, or an array's
 * strings one per line; any other value none.
 */
export function searchableText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string").join("\n");
  return "";
}

/**
 * A trigram search's terms: whitespace-separated, case-folded (trigram's
 * `case_sensitive 0`; diacritics are kept); `phrase` is the whole text as
 * one term. Each is matched as a substring.
 */
export function trigramTerms(query: string, mode: TextSearchMode): string[] {
  const words = query.toLowerCase().split(/\s+/u).filter((w) => w !== "");
  return mode === "phrase" && words.length > 0 ? [words.join(" ")] : words;
}

/** matchesText for either tokenizer: trigram terms must each be a substring of some field (case folded). */
export function matchesSearch(texts: readonly string[], query: string, mode: TextSearchMode, tokenizer: TextTokenizer): boolean {
  if (tokenizer === "unicode61") return matchesText(texts, query, mode);
  const terms = trigramTerms(query, mode);
  if (terms.length === 0) return false;
  const folded = texts.map((t) => t.toLowerCase());
  return terms.every((t) => [...t].length >= TRIGRAM_MIN_CHARS && folded.some((f) => f.includes(t)));
}

/** fts5Query for either tokenizer; null when nothing can match. */
export function searchExpression(query: string, mode: TextSearchMode, tokenizer: TextTokenizer): string | null {
  if (tokenizer === "unicode61") return fts5Query(query, mode);
  const terms = trigramTerms(query, mode);
  if (terms.length === 0 || terms.some((t) => [...t].length < TRIGRAM_MIN_CHARS)) return null;
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(" AND ");
}
