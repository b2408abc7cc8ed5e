// The proxy engine as the image ships it: one ES module bundled by esbuild from the compiled engine
// (dist/proxy/engine/child.js and what it imports, node_modules included), with the N-API addon beside it.
//
// Why a bundle: the engine carrier copies the engine into the pod's engines directory on every upgrade, and the
// agent may only run an engine whose real path is inside that directory. The engine as the package lays it out is
// the whole of dist/ plus node_modules (the image's 149 MB unpacked, most of it Node and the operator's
// dependencies); the bundle is one file of under 1 MB, so the carrier copies it in milliseconds and an emptyDir
// holds many versions. The layout inside the image:
//   /usr/local/lib/weft/engine.mjs          the bundle (.mjs: an ES module wherever it is copied, no package.json)
//   /usr/local/lib/weft/original_dst.node   the addons, found beside the bundle (proxy/native/original-dst.ts,
//   /usr/local/lib/weft/shared_memory.node  proxy/engine/shared-counts.ts,
//   /usr/local/lib/weft/malloc_trim.node    proxy/engine/reclaim.ts)
//   /usr/local/bin/weft-engine              a relative link to ../lib/weft/engine.mjs (the default binaryPath)
// The link is relative, so a copy under <engines-dir>/<version>/ resolves inside the copy.
import { build, type BuildOptions } from "esbuild";
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { DEFAULT_BINARY_PATH } from "../../operator/api/versions.js";

export const ENGINE_DIR = "/usr/local/lib/weft";
export const ENGINE_BUNDLE = `${ENGINE_DIR}/engine.mjs`;
const ADDONS = ["original_dst.node", "shared_memory.node", "malloc_trim.node"];

/** How the engine is bundled: one ES module for this Node, its CommonJS dependencies' require() bundled too. */
export const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: `node${process.versions.node.split(".")[0]}`,
  // CommonJS dependencies call require(); an ES module has none of its own. (A bare require() in the engine's own
  // modules, as proxy/xds/regex.ts loads re2js lazily, is bundled: esbuild calls its bundled copy.)
  banner: {
    js: 'import { createRequire as weftRequire } from "node:module"; const require = weftRequire(import.meta.url);',
  },
  legalComments: "none",
  logLevel: "warning",
};

/** Bundles the engine of the compiled package at `app` (its dist/) into `root`, announcing `version`. */
export async function engineRoot(root: string, app: string, version: string): Promise<void> {
  const dir = join(root, ENGINE_DIR.slice(1));
  mkdirSync(dir, { recursive: true });
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(app, "dist", "proxy", "engine", "child.js")],
    outfile: join(root, ENGINE_BUNDLE.slice(1)),
    // The version the engine announces to its agent (child.ts reads it from the env when run from dist/).
    define: { "process.env.WEFT_ENGINE_VERSION": JSON.stringify(version) },
  });
  chmodSync(join(root, ENGINE_BUNDLE.slice(1)), 0o644);
  for (const name of ADDONS) {
    const addon = join(app, "dist", "proxy", "native", name);
    // Without them a REDIRECT sidecar can't find original destinations and stays unready, and engine workers can't
    // share circuit breakers: no image without them.
    if (!existsSync(addon)) throw new Error(`${addon} is missing: npm run build needs a C compiler and Node's headers`);
    copyFileSync(addon, join(dir, name));
  }
  const link = join(root, DEFAULT_BINARY_PATH.slice(1));
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(DEFAULT_BINARY_PATH), ENGINE_BUNDLE), link);
}
