// A CPU profile of the Worker (its V8 isolate, Durable Objects included)
// through wrangler dev's inspector, summarised as self time per function:
// where JavaScript spends its time, and how much is native work outside it
// ("(program)": the runtime's own code, sockets included; "(garbage collector)").
import { writeFileSync } from "node:fs";

/** Connects to the first inspector target and starts the V8 sampling profiler. */
export async function startProfile(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  if (!targets.length) throw new Error("the inspector lists no target");
  // The inspector accepts local origins only (miniflare checks the Origin header).
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("could not reach the inspector")), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.id !== undefined && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return {
    /** Stops and returns the top functions by self time; `saveTo`: also the raw profile (open it in Chrome DevTools). */
    async stop({ top = 25, saveTo } = {}) {
      const { result } = await send("Profiler.stop");
      if (saveTo) writeFileSync(saveTo, JSON.stringify(result.profile));
      const summary = summarise(result.profile, top);
      // Bundled code has no useful names: show each row's source line.
      await send("Debugger.enable");
      const sources = new Map();
      for (const row of summary.rows) {
        if (!row.scriptId || row.scriptId === "0") continue;
        if (!sources.has(row.scriptId)) sources.set(row.scriptId, (await send("Debugger.getScriptSource", { scriptId: row.scriptId })).result?.scriptSource ?? "");
        row.source = (sources.get(row.scriptId).split("\n")[row.line] ?? "").trim().slice(0, 110);
      }
      ws.close();
      return summary;
    },
  };
}

function summarise(profile, top) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const self = new Map();
  for (const [id, n] of counts) {
    const f = byNode.get(id).callFrame;
    const file = f.url ? f.url.slice(f.url.lastIndexOf("/") + 1) : "";
    const key = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    const row = self.get(key) ?? { name: key, scriptId: f.scriptId, line: f.lineNumber, samples: 0 };
    row.samples += n;
    self.set(key, row);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const rows = [...self.values()].sort((a, b) => b.samples - a.samples).slice(0, top).map((r) => ({ ...r, share: r.samples / total }));
  return { seconds, samples: total, rows };
}

export const describeProfile = (p) =>
  [`Worker CPU profile over ${p.seconds.toFixed(1)} s (${p.samples} samples), self time:`, ...p.rows.map((r) => `    ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}${r.source ? `  | ${r.source}` : ""}`)].join("\n");
