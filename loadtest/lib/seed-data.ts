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
