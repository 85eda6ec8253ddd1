/**
 * Deterministic benchmark documents. `city` has one value per 100 documents,
 * so an equality on it returns 100 documents whatever the collection's size
 * (the "selective query" of design.md's targets).
 */
export function seedDocument(i: number, collection: string) {
  return {
    name: `user ${i}`,
    city: `c${Math.floor(i / 100)}`,
    age: i % 90,
    score: (i * 7919) % 10007,
    active: i % 3 === 0,
    tags: [`t${i % 10}`, `u${i % 7}`],
    about: `${collection} document number ${i}, with some text to give it a realistic size`,
  };
}

/**
 * The ingest benchmark's documents (issue 12): 5 fields, one of them a
 * 2-element array. loadtest/scenarios/ingest.mjs builds the same ones for
 * POST /v1/batch; keep the two in step.
 */
export function ingestDocument(i: number) {
  return { n: i, name: `doc ${i}`, group: `g${i % 50}`, tags: [`t${i % 10}`, `u${i % 7}`], nested: { k: i % 5 } };
}

/** Words of the search benchmark's titles: `q` + 4 digits names 1 in 5,000 titles (20 in 100,000); "alpha" is in 1 in 20. */
export const searchWord = (i: number) => `q${String(i % 5000).padStart(4, "0")}`;

/**
 * The search benchmark's documents (issue 17): a task title with one rare
 * word (searchWord) and a common one, in a collection whose id is "tasks"
 * (blaze.indexes.json declares a search index on tasks' title).
 */
export function searchDocument(i: number) {
  return { title: `task ${i} ${searchWord(i)} ${i % 20 === 0 ? "alpha" : "beta"} about the next release`, n: i };
}
