import { normalizePath } from "./path.js";

describe("normalize_path and merge_slashes (Envoy's semantics)", () => {
  it.each([
    ["/a/b", "/a/b"],
    ["/a/./b", "/a/b"],
    ["/a/../b", "/b"],
    ["/../../a", "/a"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/public/%2e%2E/admin", "/admin"],
    ["/%41%62c", "/Abc"],
    ["/a%2fb", "/a%2Fb"], // path_with_escaped_slashes_action KEEP_UNCHANGED: an escaped slash is not a separator
    ["/a%5cb", "/a%5Cb"],
    ["/a\\..\\b", "/b"],
    ["/a%20b", "/a%20b"],
    ["/a//b", "/a//b"], // merge_slashes is separate
    ["/.hidden/x", "/.hidden/x"],
    ["/a..b/c", "/a..b/c"],
  ])("normalize_path: %s → %s", (path, want) => expect(normalizePath(path, true, false)).toBe(want));

  it.each([
    ["//a///b/", "/a/b/"],
    ["/a/./b", "/a/./b"], // without normalize_path, dot segments stay
  ])("merge_slashes: %s → %s", (path, want) => expect(normalizePath(path, false, true)).toBe(want));

  // RFC 3986 first (".." removes the empty segment between the slashes), then merge_slashes, as Envoy orders them.
  it("merges after removing dot segments", () => expect(normalizePath("//a/.//../b", true, true)).toBe("/a/b"));

  it.each(["/a%zz", "/a%4", "/a%"])("rejects the malformed escape in %s", (path) =>
    expect(normalizePath(path, true, false)).toBeUndefined(),
  );

  it("rejects a path that isn't absolute", () => expect(normalizePath("a/b", true, true)).toBeUndefined());
});
