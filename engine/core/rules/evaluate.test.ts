import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuthUser } from "../auth";
import { parseQuery, type QueryAst } from "../query/ast";
import { matchesFilter, runQueryInMemory, type QueryDocument } from "../query/evaluate";
import { normalizeQuery } from "../query/normalize";
import { defineRules, devRules, where, and, or } from "./define";
import { authorizeGet, authorizeWrite, canGet, listAccess, restrictQuery } from "./evaluate";

const alice: AuthUser = { uid: "alice", token: { sub: "alice", team: "red" } };
const bob: AuthUser = { uid: "bob", token: { sub: "bob", team: "blue" } };

const rules = defineRules({
  "public/{id}": { read: () => true },
  "users/{uid}": {
    get: ({ auth, params }) => auth?.uid === params.uid,
    write: ({ auth, params }) => auth?.uid === params.uid,
  },
  "tasks/{id}": {
    get: ({ auth, doc }) => doc === null || doc.owner === auth!.uid,
    list: ({ auth }) => where("owner", "==", auth?.uid),
    create: ({ auth, newDoc }) => newDoc?.owner === auth?.uid,
    update: ({ auth, doc, newDoc }) => doc?.owner === auth?.uid && newDoc?.owner === doc?.owner,
    delete: ({ auth, doc }) => doc?.owner === auth?.uid,
  },
  "{path=**}/comments/{id}": { list: ({ auth }) => (auth ? where("team", "==", auth.token.team as string) : false) },
  "teams/{t}": { list: () => or(where("open", "==", true), and(where("size", "in", [1, 2]))) },
});

describe("rules evaluation", () => {
  it("get: any matching pattern allowing wins; nothing matching denies; a throwing rule denies", () => {
    expect(canGet(rules, null, "public/x", { a: 1 })).toBe(true);
    expect(canGet(rules, alice, "users/alice", null)).toBe(true);
    expect(canGet(rules, alice, "users/bob", { a: 1 })).toBe(false);
    expect(canGet(rules, alice, "nowhere/x", null)).toBe(false);
    expect(canGet(rules, null, "tasks/t", { owner: "alice" })).toBe(false); // auth!.uid throws
    expect(() => authorizeGet(rules, bob, "tasks/t", { owner: "alice" })).toThrow(
      expect.objectContaining({ code: "PERMISSION_DENIED", details: { op: "get", path: "tasks/t" } }),
    );
  });

  it("writes see the stored document and the one after the write", () => {
    const ok = { op: "create" as const, path: "tasks/t", doc: null, newDoc: { owner: "alice" } };
    expect(() => authorizeWrite(rules, alice, ok)).not.toThrow();
    expect(() => authorizeWrite(rules, bob, ok)).toThrow(expect.objectContaining({ code: "PERMISSION_DENIED" }));
    const steal = { op: "update" as const, path: "tasks/t", doc: { owner: "alice" }, newDoc: { owner: "bob" } };
    expect(() => authorizeWrite(rules, alice, steal)).toThrow(expect.objectContaining({ code: "PERMISSION_DENIED" }));
    expect(() => authorizeWrite(rules, alice, { op: "delete", path: "tasks/t", doc: { owner: "alice" }, newDoc: null })).not.toThrow();
    expect(() => authorizeWrite(rules, null, { op: "create", path: "public/x", doc: null, newDoc: {} })).toThrow();
  });

  it("list: true, a filter, an OR of filters, or denied", () => {
    expect(listAccess(rules, null, { collection: "public" })).toEqual({ kind: "all" });
    expect(listAccess(rules, alice, { collection: "tasks" })).toEqual({ kind: "filtered", filter: ["owner", "==", "alice"] });
    // No auth: the filter's value is undefined, so the rule cannot allow anything.
    expect(listAccess(rules, null, { collection: "tasks" })).toEqual({ kind: "denied" });
    expect(listAccess(rules, alice, { collection: "users" })).toEqual({ kind: "denied" }); // get only
    expect(listAccess(rules, alice, { collectionGroup: "comments" })).toEqual({ kind: "filtered", filter: ["team", "==", "red"] });
    expect(listAccess(rules, alice, { collectionGroup: "tasks" })).toEqual({ kind: "denied" }); // tasks/{id} is not a group rule
    expect(listAccess(rules, alice, { collection: "teams" }).kind).toBe("filtered");
  });

  it("list filters may use equality-like operators only", () => {
    const r = defineRules({ "a/{id}": { list: () => where("n", ">", 1) }, "b/{id}": { list: () => where("n", "in", [1, undefined as never]) } });
    expect(listAccess(r, alice, { collection: "a" }).kind).toBe("denied");
    expect(listAccess(r, alice, { collection: "b" }).kind).toBe("denied");
  });

  it("restrictQuery ANDs the rule's filter into the client's", () => {
    const ast: QueryAst = { from: { collection: "tasks" }, where: ["done", "==", false], limit: 5 };
    const scope = normalizeQuery(ast).scope;
    expect(restrictQuery(rules, alice, ast, scope).where).toEqual({ and: [["done", "==", false], ["owner", "==", "alice"]] });
    expect(() => restrictQuery(rules, null, ast, scope)).toThrow(expect.objectContaining({ code: "PERMISSION_DENIED" }));
    const pub: QueryAst = { from: { collection: "public" } };
    expect(restrictQuery(rules, null, pub, normalizeQuery(pub).scope)).toBe(pub);
  });

  it("dev rules allow everything and say so", () => {
    const dev = devRules();
    expect(dev.dev).toBe(true);
    expect(canGet(dev, null, "a/b/c/d", null)).toBe(true);
    expect(listAccess(dev, null, { collectionGroup: "x" })).toEqual({ kind: "all" });
  });

  it("unknown rule names and non-functions are refused when the rules load", () => {
    expect(() => defineRules({ "a/{id}": { reed: () => true } as never })).toThrow(/unknown rule "reed"/);
    expect(() => defineRules({ "a/{id}": { get: true as never } })).toThrow(/must be a function/);
  });

  // For row-level rules written as a filter (list) and the same predicate
  // (get), a client's query answers exactly the reference result over the
  // documents it may get: nothing leaks, nothing allowed is missing.
  it("property: a restricted query equals the reference result filtered by the get rule", () => {
    const owners = ["alice", "bob", "carol"];
    const teams = ["red", "blue"];
    const ruleFilters = [
      (u: AuthUser) => where("owner", "==", u.uid),
      (u: AuthUser) => where("team", "in", [u.token.team as string, "shared"]),
      (u: AuthUser) => or(where("owner", "==", u.uid), where("public", "==", true)),
      (u: AuthUser) => and(where("team", "==", u.token.team as string), where("tags", "array-contains", u.uid)),
    ];
    const docArb = fc.record({
      owner: fc.constantFrom(...owners),
      team: fc.constantFrom(...teams, "shared"),
      public: fc.boolean(),
      n: fc.integer({ min: 0, max: 5 }),
      tags: fc.subarray(owners),
    });
    fc.assert(
      fc.property(
        fc.array(docArb, { maxLength: 30 }),
        fc.integer({ min: 0, max: ruleFilters.length - 1 }),
        fc.constantFrom(...owners),
        fc.constantFrom(...teams),
        fc.record({ n: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), limit: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }) }),
        (datas, ruleIndex, uid, team, q) => {
          const user: AuthUser = { uid, token: { sub: uid, team } };
          const filterOf = ruleFilters[ruleIndex];
          const r = defineRules({
            "items/{id}": {
              list: ({ auth }) => filterOf(auth!),
              get: ({ auth, path, doc }) => doc !== null && matchesFilter({ path, data: doc }, normalizeQuery(parseQuery({ from: { collection: "items" }, where: filterOf(auth!) })).dnf),
            },
          });
          const docs: QueryDocument[] = datas.map((data, i) => ({ path: `items/d${String(i).padStart(2, "0")}`, data }));
          const ast: QueryAst = {
            from: { collection: "items" },
            ...(q.n !== undefined ? { where: ["n", ">=", q.n] } : {}),
            orderBy: [["n", "asc"]],
            ...(q.limit !== undefined ? { limit: q.limit } : {}),
          };
          const restricted = restrictQuery(r, user, ast, normalizeQuery(ast).scope);
          const got = runQueryInMemory(docs, normalizeQuery(restricted)).docs.map((d) => d.path);
          const readable = docs.filter((d) => canGet(r, user, d.path, d.data));
          const want = runQueryInMemory(readable, normalizeQuery(ast)).docs.map((d) => d.path);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});
