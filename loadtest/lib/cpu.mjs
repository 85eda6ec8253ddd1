// CPU accounting for the benchmarks (Linux /proc): how many cores the
// wrangler dev process tree (wrangler's node, its workerd processes), this
// load generator and the rest of the machine used between two snapshots,
// to tell whether a run was CPU-bound and by whom.
import { readFileSync, readdirSync } from "node:fs";

const TICK = 100; // USER_HZ on Linux

function stat(pid, task) {
  try {
    const s = readFileSync(task === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${task}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const f = s.slice(close + 2).split(" ");
    return { pid: Number(pid), comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** The process and all its descendants. */
function tree(root) {
  const all = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => stat(Number(d))).filter(Boolean);
  const out = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) if (!want.has(p.pid) && want.has(p.ppid)) (want.add(p.pid), (grew = true));
  }
  for (const p of all) if (want.has(p.pid)) out.push({ ...p, threads: threads(p.pid) });
  return out;
}

/** Ticks per thread of a process. */
function threads(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).map((t) => ({ tid: Number(t), ticks: stat(pid, Number(t))?.ticks ?? 0 }));
  } catch {
    return [];
  }
}

function machineTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return { busy: f.reduce((a, b) => a + b, 0) - idle, total: f.reduce((a, b) => a + b, 0) };
}

/** A snapshot of CPU ticks: the server's tree (by pid), this process, the machine. */
export function cpuSnapshot(serverPid) {
  return { at: performance.now(), server: serverPid ? tree(serverPid) : [], self: stat(process.pid), machine: machineTicks() };
}

/** Cores used between two snapshots: per server process, this process, the rest of the machine. */
export function cpuBetween(a, b) {
  const seconds = (b.at - a.at) / 1000;
  const cores = (ticks) => ticks / TICK / seconds;
  const before = new Map(a.server.map((p) => [p.pid, p]));
  const busiestThread = (p) => {
    const t0 = new Map((before.get(p.pid)?.threads ?? []).map((t) => [t.tid, t.ticks]));
    return Math.max(0, ...p.threads.map((t) => cores(t.ticks - (t0.get(t.tid) ?? 0))));
  };
  const server = b.server
    .map((p) => ({ pid: p.pid, comm: p.comm, cores: cores(p.ticks - (before.get(p.pid)?.ticks ?? 0)), busiestThread: busiestThread(p) }))
    .filter((p) => p.cores > 0.01)
    .sort((x, y) => y.cores - x.cores);
  const serverCores = server.reduce((n, p) => n + p.cores, 0);
  const selfCores = cores((b.self?.ticks ?? 0) - (a.self?.ticks ?? 0));
  const machineCores = cores(b.machine.busy - a.machine.busy);
  const ncpu = (b.machine.total - a.machine.total) / TICK / seconds;
  return { seconds, server, serverCores, selfCores, otherCores: Math.max(0, machineCores - serverCores - selfCores), machineCores, ncpu };
}

export const describeCpu = (c) =>
  `CPU over ${c.seconds.toFixed(1)} s, in cores of ${c.ncpu.toFixed(1)}: machine ${c.machineCores.toFixed(2)} busy; ` +
  `wrangler dev ${c.serverCores.toFixed(2)} (${c.server.map((p) => `${p.comm} ${p.cores.toFixed(2)}, busiest thread ${p.busiestThread.toFixed(2)}`).join("; ")}); ` +
  `load generator ${c.selfCores.toFixed(2)}; everything else (other engineers) ${c.otherCores.toFixed(2)}`;
