/**
 * The board's data: what a task is, the query a view of the board makes,
 * and the writes. Everything goes through the public SDK.
 */
import {
  addDoc,
  collection,
  deleteDoc,
  doc,
  limit,
  orderBy,
  query,
  serverTimestamp,
  updateDoc,
  where,
  type Firestore,
  type Query,
  type QueryConstraint,
} from "blaze/sdk";
import type { LatencyTracker } from "./latency";

export const STATUSES = ["todo", "doing", "done"] as const;
export type Status = (typeof STATUSES)[number];
export const OWNERS = ["ada", "grace", "linus", "margaret"] as const;
export const PRIORITIES = [
  { value: 3, label: "high" },
  { value: 2, label: "medium" },
  { value: 1, label: "low" },
] as const;
export const SORTS = [
  { value: "priority", label: "Priority", field: "priority" },
  { value: "created", label: "Newest", field: "createdAt" },
] as const;
export type Sort = (typeof SORTS)[number]["value"];

/** The board shows at most this many tasks (a query listener holds its whole result). */
export const BOARD_LIMIT = 50;
export const COLLECTION = "tasks";

export interface Task {
  title: string;
  status: Status;
  owner: string;
  priority: number;
  /** Set by the server when the task is created. */
  createdAt?: unknown;
  /** A fresh id per write: how the latency meter recognises its own write in a listener update. */
  rev: string;
}
export type TaskFields = Pick<Task, "title" | "status" | "owner" | "priority">;

/** What the user chose to see; "any" means no filter. Filtering and sorting run on the server. */
export interface BoardView {
  status: Status | "any";
  owner: string | "any";
  sort: Sort;
}

export const tasksOf = (db: Firestore) => collection(db, COLLECTION);

function filters(view: BoardView): QueryConstraint[] {
  const out: QueryConstraint[] = [];
  if (view.status !== "any") out.push(where("status", "==", view.status));
  if (view.owner !== "any") out.push(where("owner", "==", view.owner));
  return out;
}

/** The view's filters alone: what the live count counts. */
export function filteredTasks(db: Firestore, view: BoardView): Query {
  return query(tasksOf(db), ...filters(view));
}

/** The board: the filters, the chosen order (newest or highest first), and the limit. */
export function boardQuery(db: Firestore, view: BoardView): Query {
  const field = SORTS.find((s) => s.value === view.sort)!.field;
  return query(tasksOf(db), ...filters(view), orderBy(field, "desc"), limit(BOARD_LIMIT));
}

/** A stable name for a view (the page exposes it so a test can tell which query is showing). */
export const viewKey = (view: BoardView) => `${view.status}|${view.owner}|${view.sort}`;

/** Runs a write timed by the latency meter: the clock starts just before the call. */
async function timed(latency: LatencyTracker, key: string, write: () => Promise<unknown>): Promise<void> {
  latency.start(key);
  try {
    await write();
  } catch (e) {
    latency.cancel(key);
    throw e;
  }
}

export async function addTask(db: Firestore, latency: LatencyTracker, fields: TaskFields): Promise<void> {
  const rev = latency.newKey();
  await timed(latency, rev, () => addDoc(tasksOf(db), { ...fields, createdAt: serverTimestamp(), rev }));
}

export async function editTask(db: Firestore, latency: LatencyTracker, id: string, patch: Partial<TaskFields>): Promise<void> {
  const rev = latency.newKey();
  await timed(latency, rev, () => updateDoc(doc(db, COLLECTION, id), { ...patch, rev }));
}

export async function removeTask(db: Firestore, latency: LatencyTracker, id: string): Promise<void> {
  await timed(latency, removedKey(id), () => deleteDoc(doc(db, COLLECTION, id)));
}

export const removedKey = (id: string) => `removed:${id}`;
