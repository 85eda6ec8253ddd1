/**
 * The SDK's one error type, shaped like Firebase's FirestoreError (`code`,
 * `message`, `name`) so `catch (e) { if (e.code === "not-found") ... }` ports
 * unchanged. Blaze's wire codes (INVALID_ARGUMENT, ...) map to Firestore's.
 */
import { BlazeError as EngineError } from "../engine/core/errors";

export type FirestoreErrorCode =
  | "cancelled"
  | "unknown"
  | "invalid-argument"
  | "deadline-exceeded"
  | "not-found"
  | "already-exists"
  | "permission-denied"
  | "resource-exhausted"
  | "failed-precondition"
  | "aborted"
  | "out-of-range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data-loss"
  | "unauthenticated";

/** Blaze's error codes (the JSON error contract) to Firestore's. */
const CODE_MAP: Record<string, FirestoreErrorCode> = {
  INVALID_ARGUMENT: "invalid-argument",
  UNAUTHENTICATED: "unauthenticated",
  PERMISSION_DENIED: "permission-denied",
  NOT_FOUND: "not-found",
  ALREADY_EXISTS: "already-exists",
  ABORTED: "aborted",
  FAILED_PRECONDITION: "failed-precondition",
  // Firestore reports an over-size document or request as invalid-argument.
  PAYLOAD_TOO_LARGE: "invalid-argument",
  RESOURCE_EXHAUSTED: "resource-exhausted",
  INTERNAL: "internal",
  UNAVAILABLE: "unavailable",
};

export class BlazeError extends Error {
  /** Firebase's class is named FirebaseError; code that checks `name` keeps working. */
  override readonly name = "FirebaseError";
  readonly code: FirestoreErrorCode;
  /** Blaze's own code as the server sent it (`INVALID_ARGUMENT`, ...), when it came from the server. */
  readonly blazeCode?: string;
  /** The server's `details` (a missing index's definition, ...). */
  readonly details?: unknown;

  constructor(code: FirestoreErrorCode, message: string, extra: { blazeCode?: string; details?: unknown } = {}) {
    super(message);
    this.code = code;
    if (extra.blazeCode !== undefined) this.blazeCode = extra.blazeCode;
    if (extra.details !== undefined) this.details = extra.details;
  }

  override toString(): string {
    return `${this.name}: [code=${this.code}]: ${this.message}`;
  }
}

/** Firebase's name for the same class. */
export { BlazeError as FirestoreError };

/** Maps a Blaze wire code to a Firestore code; unknown codes become "unknown". */
export function firestoreCode(blazeCode: string): FirestoreErrorCode {
  return CODE_MAP[blazeCode] ?? "unknown";
}

/** An error body from the server (`{ error: { code, message, details? } }`) as a BlazeError. */
export function fromErrorBody(body: { code?: unknown; message?: unknown; details?: unknown } | undefined, status?: number): BlazeError {
  const raw = typeof body?.code === "string" ? body.code : undefined;
  const code = raw !== undefined ? firestoreCode(raw) : statusCode(status);
  const message = typeof body?.message === "string" ? body.message : `request failed${status ? ` with HTTP ${status}` : ""}`;
  return new BlazeError(code, message, { blazeCode: raw, details: body?.details });
}

/** For answers that carry no error body (a proxy's 502, ...). */
function statusCode(status: number | undefined): FirestoreErrorCode {
  switch (status) {
    case 400:
      return "invalid-argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission-denied";
    case 404:
      return "not-found";
    case 409:
      return "aborted";
    case 412:
      return "failed-precondition";
    case 429:
      return "resource-exhausted";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return status !== undefined && status >= 500 ? "internal" : "unknown";
  }
}

/**
 * Runs shared engine/core validation and turns its errors into SDK errors, so
 * a bad path or field path fails with `invalid-argument` before any request.
 */
export function core<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EngineError) throw new BlazeError(firestoreCode(e.code), e.message, { blazeCode: e.code, details: e.details });
    throw e;
  }
}

export const invalid = (message: string) => new BlazeError("invalid-argument", message);
