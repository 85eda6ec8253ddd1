/**
 * withSchema: Blaze's typed, validated collections, as a converter:
 * `collection(db, "users").withConverter(withSchema(User))`. Writes through
 * the converter (setDoc, addDoc, batch and transaction set) are checked
 * before anything is sent; merges check against `schema.partial()` when the
 * schema has it (zod's objects do). Reads are typed, not re-checked:
 * documents written before the schema, or by updateDoc, come back as stored.
 *
 * Structural: any object with `parse` (zod, valibot adapters, hand-written)
 * works, so the SDK does not depend on zod.
 */
import { BlazeError } from "./errors";
import type { DocumentData, FirestoreDataConverter, SetOptions, SnapshotOptions } from "./reference";

export interface Schema<T> {
  parse(data: unknown): T;
  partial?: () => Schema<Partial<T>>;
}

function check<T>(schema: Schema<T>, data: unknown): T {
  try {
    return schema.parse(data);
  } catch (e) {
    const issues = (e as { issues?: unknown }).issues;
    throw new BlazeError("invalid-argument", `document does not match its schema: ${e instanceof Error ? e.message : String(e)}`, issues === undefined ? {} : { details: { issues } });
  }
}

export function withSchema<T extends DocumentData>(schema: Schema<T>): FirestoreDataConverter<T, DocumentData> {
  return {
    toFirestore(model: T, options?: SetOptions): DocumentData {
      const merge = options !== undefined && (("merge" in options && options.merge === true) || "mergeFields" in options);
      if (merge && typeof schema.partial === "function") return check(schema.partial(), model) as DocumentData;
      return check(schema, model) as DocumentData;
    },
    fromFirestore(snapshot: { data(options?: SnapshotOptions): DocumentData }, options?: SnapshotOptions): T {
      return snapshot.data(options) as T;
    },
  };
}
