import { describe, expect, it } from "vitest";
import { DEFAULT_PORT, startPort } from "./start.mjs";

describe("npm start's port", () => {
  it("is 8787 by default, PORT when set, and --port over both", () => {
    expect(startPort([], {})).toBe(DEFAULT_PORT);
    expect(startPort([], { PORT: "9000" })).toBe(9000);
    expect(startPort(["--port", "9001"], { PORT: "9000" })).toBe(9001);
    expect(startPort(["--port=9002"], {})).toBe(9002);
    expect(startPort([], { PORT: "" })).toBe(DEFAULT_PORT);
  });

  it("refuses what is not a port, naming where it came from", () => {
    expect(() => startPort([], { PORT: "abc" })).toThrow(/PORT must be a port number from 1 to 65535, got "abc"/);
    expect(() => startPort(["--port", "70000"], {})).toThrow(/--port must be a port number/);
    expect(() => startPort(["--port"], {})).toThrow(/--port must be a port number/);
    expect(() => startPort(["--port", "0"], {})).toThrow(/--port must be/);
    expect(() => startPort(["--port", "9000.5"], {})).toThrow(/--port must be/);
    expect(() => startPort(["--host", "x"], {})).toThrow(/unknown argument "--host"/);
  });
});
