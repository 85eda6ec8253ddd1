/**
 * Firestore-style resource paths: `users/alice` (document, even segment
 * count), `users/alice/posts` (collection, odd). Pure; shared with the SDK.
 */
import { invalidArgument } from "./errors";
import { LIMITS } from "./limits";
import { LONE_SURROGATE, utf8Length } from "./utf8";

export interface DocumentPath {
  path: string;
  segments: string[];
  id: string;
  collectionPath: string;
  collectionId: string;
  /** The document that holds the collection, or null for a root collection. */
  parentPath: string | null;
}

export interface CollectionPath {
  path: string;
  segments: string[];
  collectionId: string;
  /** The document that holds this collection, or null for a root collection. */
  parentPath: string | null;
}

const RESERVED_ID = /^__.*__$/s;

/** Checks one document or collection id; returns it unchanged. */
export function validateId(id: unknown, what = "id"): string {
  if (typeof id !== "string") throw invalidArgument(`${what} must be a string`);
  const bytes = utf8Length(id);
  if (bytes === 0) throw invalidArgument(`${what} must not be empty`);
  if (bytes > LIMITS.maxIdBytes) {
    throw invalidArgument(`${what} ${quote(id)} is ${bytes} bytes, more than the limit of ${LIMITS.maxIdBytes}`);
  }
  if (id.includes("/")) throw invalidArgument(`${what} ${quote(id)} must not contain "/"`);
  if (id === "." || id === "..") throw invalidArgument(`${what} ${quote(id)} is not allowed`);
  if (RESERVED_ID.test(id)) throw invalidArgument(`${what} ${quote(id)} is reserved (ids matching __.*__ are reserved)`);
  if (LONE_SURROGATE.test(id)) throw invalidArgument(`${what} ${quote(id)} is not valid UTF-8 (lone surrogate)`);
  return id;
}

/** Splits a path into validated segments (documents and collections alike). */
export function parsePath(p: unknown): string[] {
  if (typeof p !== "string") throw invalidArgument("path must be a string");
  if (p === "") throw invalidArgument("path must not be empty");
  if (p.startsWith("/") || p.endsWith("/")) {
    throw invalidArgument(`path ${quote(p)} must not start or end with "/"`);
  }
  const bytes = utf8Length(p);
  if (bytes > LIMITS.maxPathBytes) {
    throw invalidArgument(`path is ${bytes} bytes, more than the limit of ${LIMITS.maxPathBytes}`, { bytes, limit: LIMITS.maxPathBytes });
  }
  const segments = p.split("/");
  if (segments.length > LIMITS.maxPathSegments) {
    throw invalidArgument(
      `path ${quote(p)} has ${segments.length} segments, more than the limit of ${LIMITS.maxPathSegments}`,
    );
  }
  for (const s of segments) {
    if (s === "") throw invalidArgument(`path ${quote(p)} has an empty segment ("//")`);
    validateId(s, `segment of path ${quote(p)}:`);
  }
  return segments;
}

export function parseDocumentPath(p: unknown): DocumentPath {
  const segments = parsePath(p);
  if (segments.length % 2 !== 0) {
    throw invalidArgument(`${quote(p as string)} is a collection path, not a document path`);
  }
  const n = segments.length;
  return {
    path: p as string,
    segments,
    id: segments[n - 1],
    collectionPath: segments.slice(0, n - 1).join("/"),
    collectionId: segments[n - 2],
    parentPath: n > 2 ? segments.slice(0, n - 2).join("/") : null,
  };
}

export function parseCollectionPath(p: unknown): CollectionPath {
  const segments = parsePath(p);
  if (segments.length % 2 === 0) {
    throw invalidArgument(`${quote(p as string)} is a document path, not a collection path`);
  }
  const n = segments.length;
  return {
    path: p as string,
    segments,
    collectionId: segments[n - 1],
    parentPath: n > 1 ? segments.slice(0, n - 1).join("/") : null,
  };
}

/** True if `p` is a valid path naming a document; never throws. */
export function isDocumentPath(p: unknown): boolean {
  try {
    return parsePath(p).length % 2 === 0;
  } catch {
    return false;
  }
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// 62 * 4 = 248: bytes at or above it are rejected so `b % 62` stays uniform.
const ID_BYTE_CUTOFF = 248;

/** Appends characters of the id alphabet drawn from `bytes` to `id`, up to 20. */
function addIdChars(id: string, bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length && id.length < 20; i++) {
    if (bytes[i] < ID_BYTE_CUTOFF) id += ID_ALPHABET[bytes[i] % 62];
  }
  return id;
}

/** A 20-character random id like Firestore's auto ids (~119 bits); Web Crypto, present in Workers, browsers and Node. */
export function generateId(): string {
  let id = "";
  while (id.length < 20) id = addIdChars(id, crypto.getRandomValues(new Uint8Array(32)));
  return id;
}

/**
 * A 20-character id of the same alphabet derived from `seed` (SHA-256): the
 * same seed always gives the same id, so a retried create (same idempotency
 * key) names the same document.
 */
export async function derivedId(seed: string): Promise<string> {
  let id = "";
  for (let round = 0; id.length < 20; round++) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${round}\u0000${seed}`));
    id = addIdChars(id, new Uint8Array(digest));
  }
  return id;
}

/** Quotes user input for a message, cut short so errors stay readable. */
function quote(s: string): string {
  return JSON.stringify(s.length > 100 ? s.slice(0, 100) + "…" : s);
}
