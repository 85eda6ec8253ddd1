/** What the SDK tests share. */
import type { BlazeError } from "blaze/sdk";

/** Collects a listener's snapshots; `next()` waits for the following one. */
export function collector<S>() {
  const got: S[] = [];
  const errors: BlazeError[] = [];
  let taken = 0;
  return {
    got,
    errors,
    onNext: (s: S) => void got.push(s),
    onError: (e: BlazeError) => void errors.push(e),
    async next(timeoutMs = 5000): Promise<S> {
      const end = Date.now() + timeoutMs;
      while (got.length <= taken) {
        if (errors.length) throw errors[0];
        if (Date.now() > end) throw new Error(`no snapshot #${taken + 1} in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got[taken++];
    },
  };
}
