/**
 * The API key format, its generation and its hash: `blz_<role>_<id>_<secret>`.
 * The role in the prefix tells admin keys from client keys in logs and
 * secret scanners; the id is the public part (looked up in D1); only
 * SHA-256 of the secret is stored.
 *
 * No imports and Web Crypto only, so the Node CLI (scripts/blaze.mjs) runs
 * this same file (Node strips the types) and never has a copy of the logic.
 */

export type KeyRole = "admin" | "client";

export const KEY_PREFIX = "blz_";
export const KEY_ROLES: readonly KeyRole[] = ["admin", "client"];
/** 32 random bytes: 256 bits of secret. */
export const KEY_SECRET_BYTES = 32;
/** 8 random bytes as hex: unique enough for ids, short enough for logs. */
const KEY_ID_BYTES = 8;

const KEY_PATTERN = /^blz_(admin|client)_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ParsedKey {
  role: KeyRole;
  id: string;
  secret: string;
}

export interface NewKey extends ParsedKey {
  /** The whole key, shown once to its owner. */
  key: string;
  /** What is stored: SHA-256 of the secret, hex. */
  secretHash: string;
}

/** Whether a presented credential claims to be an API key (rather than a JWT). */
export const looksLikeKey = (credential: string): boolean => credential.startsWith(KEY_PREFIX);

/** The parts of a well-formed key, or null. */
export function parseKey(key: string): ParsedKey | null {
  const m = KEY_PATTERN.exec(key);
  return m ? { role: m[1] as KeyRole, id: m[2], secret: m[3] } : null;
}

export async function generateKey(role: KeyRole): Promise<NewKey> {
  const id = toHex(randomBytes(KEY_ID_BYTES));
  const secret = toBase64Url(randomBytes(KEY_SECRET_BYTES));
  return { role, id, secret, key: `${KEY_PREFIX}${role}_${id}_${secret}`, secretHash: await hashSecret(secret) };
}

export async function hashSecret(secret: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))));
}

/** Compares two equal-format strings (hex hashes) without an early exit, so timing tells nothing of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ (i < b.length ? b.charCodeAt(i) : 0);
  return diff === 0;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
