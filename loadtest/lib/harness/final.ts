/**
 * The end of a checked run: once the load has stopped, read back every
 * document, the index (until it agrees with the documents or the time is
 * up), and bring every listener up to date (a socket session that resumes
 * until it holds what the documents hold, or the time is up).
 */
import type { DocSnap, FinalState } from "../../k6/lib/history.ts";
import { listenSession, type Listening } from "../../k6/lib/listener.ts";
import { batchDocsUntil, queryAll, readDoc, type Layout } from "../../k6/lib/ops.ts";
import type { Runtime } from "../../k6/lib/runtime.ts";

async function readAll(rt: Runtime, paths: string[]): Promise<Record<string, DocSnap | null>> {
  const reads: Record<string, DocSnap | null> = {};
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++];
      for (let attempt = 0; ; attempt++) {
        const doc = await readDoc(rt, path);
        if (doc !== undefined) {
          reads[path] = doc;
          break;
        }
        if (attempt >= 20) throw new Error(`final read of ${path} failed 20 times`);
        await rt.sleep(500);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return reads;
}

const same = (a: DocSnap[], reads: Record<string, DocSnap | null>) => {
  const want = Object.values(reads).filter((d): d is DocSnap => d !== null);
  const got = new Map(a.map((d) => [d.path, d.version]));
  return got.size === want.length && want.every((d) => got.get(d.path) === d.version);
};

function caughtUp(l: Listening, reads: Record<string, DocSnap | null>): boolean {
  const want = Object.values(reads).filter(
    (d): d is DocSnap => d !== null && ("docs" in l.scope ? l.scope.docs.includes(d.path) : d.path.startsWith(`${l.scope.collection}/`)),
  );
  return l.docs.size === want.length && want.every((d) => l.docs.get(d.path)?.version === d.version);
}

/**
 * `reader` reads (its reads are recorded too: the last strong reads of the
 * run); `listenersOf` are the virtual users that listened.
 */
export async function collectFinal(reader: Runtime, L: Layout, listeners: Runtime[], timeoutMs: number, log: (line: string) => void): Promise<FinalState> {
  const deadline = Date.now() + timeoutMs;
  // Every generation of batch documents, and the next one if listeners took it on already.
  const paths = [...L.registers, ...batchDocsUntil(L, reader.now()), ...L.counters];
  let reads = await readAll(reader, paths);
  let index: DocSnap[] | undefined;
  for (;;) {
    try {
      index = (await Promise.all([L.reg, L.bat, L.cnt].map((c) => queryAll(reader, c)))).flat();
      if (same(index, reads)) break;
    } catch (e) {
      // A strong query answers UNAVAILABLE while the index is far behind (after a crash): ask again.
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) break;
    await reader.sleep(500);
    reads = await readAll(reader, paths);
  }
  if (!index) throw new Error("no answer from the index");
  log(`  final: ${Object.values(reads).filter(Boolean).length} documents read, ${index.length} in the index`);
  await Promise.all(
    listeners.map((rt) => {
      const specs = (rt.state.listeners as Listening[]).map((l) => l.spec);
      return listenSession(rt, () => specs, (now) => now.every((l) => caughtUp(l, reads)) || Date.now() > deadline);
    }),
  );
  const final: FinalState = { reads, index, listeners: {} };
  for (const rt of listeners) {
    for (const l of rt.state.listeners as Listening[]) final.listeners[l.name] = { scope: l.scope, docs: [...l.docs.values()] };
  }
  return final;
}
