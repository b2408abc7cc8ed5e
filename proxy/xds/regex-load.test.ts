// re2js is loaded with the first pattern a process compiles, not at start (most sidecars' configs have no regex),
// both where the agent and engine run from dist/ and in the image's engine bundle, which carries its own copy.
// Runs the built module (dist/), which `npm run build` makes, and bundles regex.ts as the image bundles the engine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { BUNDLE_OPTIONS } from "../../hack/image/engine.js";

/** What a fresh node process prints for `script` (an ES module), as JSON. */
function run(script: string, cwd = process.cwd()): unknown {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe("re2js, loaded lazily", () => {
  it("is not loaded by importing the regex module, only by compiling a first pattern", () => {
    const regex = join(process.cwd(), "dist/proxy/xds/regex.js");
    const script = `
      import { createRequire } from "node:module";
      const { compileRe2 } = await import(${JSON.stringify(regex)});
      const cache = createRequire(${JSON.stringify(regex)}).cache;
      const loaded = () => Object.keys(cache).some((k) => k.includes("/re2js/"));
      const before = loaded();
      const re = compileRe2("a.c");
      console.log(JSON.stringify({ before, full: re.full("abc"), after: loaded(), bad: compileRe2("(") }));`;
    expect(run(script)).toEqual({
      before: false,
      full: true,
      after: true,
      bad: '"(" is not a valid regex: error parsing regexp: missing closing ): `(`',
    });
  });

  it("works in the image's engine bundle, away from node_modules", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-regex-bundle-"));
    try {
      const out = join(dir, "regex.mjs");
      await build({ ...BUNDLE_OPTIONS, entryPoints: [join(process.cwd(), "proxy/xds/regex.ts")], outfile: out });
      const script = `
        const { compileRe2 } = await import(${JSON.stringify(out)});
        console.log(JSON.stringify(compileRe2("a.c", true).full("ABC")));`;
      expect(run(script, dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
