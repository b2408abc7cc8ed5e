// Builds the optional N-API addons proxy/native/original_dst.c → dist/proxy/native/original_dst.node (and
// shared_memory.c → shared_memory.node, the engine workers' shared circuit breakers, and malloc_trim.c → malloc_trim.node,
// the engine giving freed C heap back: proxy/engine/reclaim.ts) with the
// machine's C compiler and Node's own headers (no node-gyp, no download: the official Node tarball and Debian's
// and NodeSource's packages ship include/node/node_api.h). Run by `npm run build` after tsc. Without a compiler
// or headers it says so and leaves the addon out: interception REDIRECT then reports itself unready (see
// proxy/native/original-dst.ts), everything else works.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./paths.js";

const ADDONS = ["original_dst", "shared_memory", "malloc_trim"];

export function nodeHeaders(): string | undefined {
  const candidates = [
    process.env.WEFT_NODE_HEADERS,
    path.resolve(path.dirname(process.execPath), "../include/node"),
    "/usr/include/node",
    "/usr/local/include/node",
    path.join(homedir(), ".cache/node-gyp", process.versions.node, "include/node"),
  ];
  return candidates.find((d): d is string => !!d && existsSync(path.join(d, "node_api.h")));
}

function main(): number {
  for (const name of ADDONS) build(name);
  return 0;
}

function build(name: string): void {
  const SRC = path.join(REPO_ROOT, `proxy/native/${name}.c`);
  const OUT = path.join(REPO_ROOT, `dist/proxy/native/${name}.node`);
  if (existsSync(OUT) && statSync(OUT).mtimeMs >= statSync(SRC).mtimeMs) return;
  const headers = nodeHeaders();
  const cc = process.env.CC ?? "cc";
  if (!headers) {
    process.stderr.write(
      `native: node_api.h not found (looked beside ${process.execPath} and in /usr/include/node); ${name}.node is not built\n`,
    );
    return;
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  const r = spawnSync(cc, ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-I", headers, "-o", OUT, SRC], {
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) {
    process.stderr.write(`native: ${cc} failed (${r.error?.message ?? r.stderr.trim()}); ${name}.node is not built\n`);
  }
}

process.exitCode = main();
