/**
 * runTransaction as Firestore's web SDK runs it: reads go to the server
 * (each with the document's version), writes are buffered, and the commit is
 * one atomic `POST /v1/batch` whose writes carry the versions read as
 * preconditions (`ifVersion`; 0 = was missing). A conflict (ABORTED,
 * FAILED_PRECONDITION, or ALREADY_EXISTS for a document read as missing)
 * reruns the whole function, up to `maxAttempts` (5) times with backoff.
 */
import type { Write } from "../engine/core/writes";
import type { Blaze } from "./database";
import { BlazeError, invalid } from "./errors";
import { mutate } from "./mutations";
import { getDoc } from "./operations";
import type { DocumentReference, SetOptions } from "./reference";
import type { DocumentSnapshot } from "./snapshot";
import type { FieldPath } from "./values";
import { deleteWrite, setWrites, updateWrite } from "./writes";

export interface TransactionOptions {
  /** Attempts before the transaction fails (Firebase's default: 5). */
  readonly maxAttempts?: number;
}

const RETRYABLE = new Set(["aborted", "failed-precondition", "already-exists"]);

/** Backoff between attempts: 100 ms growing 1.5x per attempt, with jitter (Firebase waits 1 s and up). */
const delay = (attempt: number) => new Promise((r) => setTimeout(r, 100 * 1.5 ** attempt * (0.5 + Math.random())));

export class Transaction {
  /** Version of each document read (0: it did not exist). */
  private readonly versions = new Map<string, number>();
  private readonly writes: Write[] = [];

  /** @internal */
  constructor(private readonly db: Blaze) {}

  async get<T>(documentRef: DocumentReference<T>): Promise<DocumentSnapshot<T>> {
    this.check(documentRef);
    if (this.writes.length > 0) throw invalid("Firestore transactions require all reads to be executed before all writes.");
    const snap = await getDoc(documentRef);
    const version = snap._doc?.version ?? 0;
    const seen = this.versions.get(documentRef.path);
    // A document read twice must not have changed in between.
    if (seen !== undefined && seen !== version) throw new BlazeError("aborted", `${documentRef.path} changed during the transaction`);
    this.versions.set(documentRef.path, version);
    return snap;
  }

  set<T>(documentRef: DocumentReference<T>, data: T | Record<string, unknown>, options?: SetOptions): this {
    this.check(documentRef);
    this.writes.push(...setWrites(documentRef, data, options, "Transaction.set"));
    return this;
  }

  update<T>(documentRef: DocumentReference<T>, data: Record<string, unknown>): this;
  update<T>(documentRef: DocumentReference<T>, field: string | FieldPath, value: unknown, ...moreFieldsAndValues: unknown[]): this;
  update(documentRef: DocumentReference<any>, ...args: unknown[]): this {
    this.check(documentRef);
    this.writes.push(updateWrite(documentRef, args, "Transaction.update"));
    return this;
  }

  delete<T>(documentRef: DocumentReference<T>): this {
    this.check(documentRef);
    this.writes.push(deleteWrite(documentRef));
    return this;
  }

  private check(ref: DocumentReference<any>): void {
    if (ref?.firestore !== this.db) throw invalid("Provided document reference is from a different Firestore instance.");
  }

  /** @internal the batch: the first write to each document read carries its version. */
  _batch(): Write[] {
    const guarded = new Set<string>();
    return this.writes.map((w) => {
      const v = this.versions.get(w.path);
      if (v === undefined || guarded.has(w.path)) return w;
      guarded.add(w.path);
      return { ...w, ifVersion: v };
    });
  }
}

export async function runTransaction<T>(firestore: Blaze, updateFunction: (transaction: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  firestore._checkOpen();
  const maxAttempts = options.maxAttempts ?? 5;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw invalid("maxAttempts must be a positive integer");
  for (let attempt = 0; ; attempt++) {
    const tx = new Transaction(firestore);
    let result: T;
    try {
      result = await updateFunction(tx);
    } catch (e) {
      // The app's own errors are not retried; only a read that saw a document change is.
      if (!(e instanceof BlazeError && e.code === "aborted") || attempt + 1 >= maxAttempts) throw e;
      await delay(attempt);
      continue;
    }
    const writes = tx._batch();
    try {
      // Keyed (mutations.ts): a commit retried after a lost answer is not applied twice.
      if (writes.length > 0) await mutate(firestore, "POST", "/v1/batch", { writes });
      return result;
    } catch (e) {
      if (!(e instanceof BlazeError) || !RETRYABLE.has(e.code) || attempt + 1 >= maxAttempts) throw e;
      await delay(attempt);
    }
  }
}
