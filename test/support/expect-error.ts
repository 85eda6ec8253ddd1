/** Test helpers: run `f`, require a BlazeError, return it (or its message). */
import { expect } from "vitest";
import { BlazeError, type ErrorCode } from "../../engine/core/errors";

export function errorOf(f: () => unknown): BlazeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BlazeError);
    return e as BlazeError;
  }
  throw new Error("expected a BlazeError");
}

/** The message of the INVALID_ARGUMENT (or other `code`) error `f` throws. */
export function messageOf(f: () => unknown, code: ErrorCode = "INVALID_ARGUMENT"): string {
  const e = errorOf(f);
  expect(e.code).toBe(code);
  return e.message;
}
