import { describe, expect, it } from "vitest";
import { compilePattern, matchCollection, matchCollectionGroup, matchDocument } from "./patterns";

const p = compilePattern;

describe("rule path patterns", () => {
  it("match documents and bind wildcards", () => {
    expect(matchDocument(p("users/{uid}"), "users/alice")).toEqual({ uid: "alice" });
    expect(matchDocument(p("users/{uid}/posts/{postId}"), "users/a/posts/p1")).toEqual({ uid: "a", postId: "p1" });
    expect(matchDocument(p("users/{uid}"), "users/a/posts/p1")).toBeNull();
    expect(matchDocument(p("users/alice"), "users/bob")).toBeNull();
    expect(matchDocument(p("/users/{uid}/"), "users/x")).toEqual({ uid: "x" });
  });

  it("a recursive wildcard matches zero or more segments, anywhere", () => {
    expect(matchDocument(p("{doc=**}"), "a/b/c/d")).toEqual({ doc: "a/b/c/d" });
    expect(matchDocument(p("users/{uid}/{rest=**}"), "users/a")).toEqual({ uid: "a", rest: "" });
    expect(matchDocument(p("users/{uid}/{rest=**}"), "users/a/posts/p")).toEqual({ uid: "a", rest: "posts/p" });
    expect(matchDocument(p("{path=**}/posts/{id}"), "users/a/posts/p")).toEqual({ path: "users/a", id: "p" });
    expect(matchDocument(p("{path=**}/posts/{id}"), "posts/p")).toEqual({ path: "", id: "p" });
    expect(matchDocument(p("{path=**}/posts/{id}"), "users/a")).toBeNull();
  });

  it("list targets: a literal id never matches, the unknown id leaves its wildcard undefined", () => {
    expect(matchCollection(p("users/{uid}"), "users")).toEqual({ uid: undefined });
    expect(matchCollection(p("users/alice"), "users")).toBeNull();
    expect(matchCollection(p("users/{uid}/posts/{id}"), "users/a/posts")).toEqual({ uid: "a", id: undefined });
    expect(matchCollection(p("{doc=**}"), "users")).toEqual({ doc: undefined });
    expect(matchCollection(p("users/{uid}/{rest=**}"), "users/a/posts")).toEqual({ uid: "a", rest: undefined });
  });

  it("a collection group is matched only by a leading recursive wildcard", () => {
    expect(matchCollectionGroup(p("{path=**}/posts/{id}"), "posts")).toEqual({ path: undefined, id: undefined });
    expect(matchCollectionGroup(p("{path=**}/{coll}/{id}"), "posts")).toEqual({ path: undefined, coll: "posts", id: undefined });
    expect(matchCollectionGroup(p("{doc=**}"), "posts")).toEqual({ doc: undefined });
    expect(matchCollectionGroup(p("{path=**}/comments/{id}"), "posts")).toBeNull();
    expect(matchCollectionGroup(p("users/{uid}/posts/{id}"), "posts")).toBeNull();
    expect(matchCollectionGroup(p("{path=**}/users/{uid}/posts/{id}"), "posts")).toBeNull();
  });

  it("refuses malformed patterns", () => {
    for (const bad of ["users", "users/{uid}/posts", "a//b", "a/{x}/b/{x}", "{a=**}/b/{c=**}", "users/{u-id}", "users/*", "users/{uid"]) {
      expect(() => compilePattern(bad), bad).toThrow(/rules: path pattern/);
    }
  });
});
