import { describe, expect, it } from "vitest";
import { indexConfig } from "./load-config";

describe("blaze.indexes.json", () => {
  it("is a valid index config (the Worker refuses to start otherwise)", () => {
    expect(Array.isArray(indexConfig.indexes)).toBe(true);
    expect(Array.isArray(indexConfig.exemptions)).toBe(true);
  });
});
