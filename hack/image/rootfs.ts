// The root filesystems, as directories to pack into layers:
// - base: glibc and friends, Node, /etc/passwd with the non-root user, /tmp. Shared by every image.
// - weft: the package (dist/operator, dist/proxy, production node_modules without typings, sources
//   or maps), /usr/local/bin/weft, and the engine bundle at the default spec.proxy.binaryPath (engine.ts).
// - bookinfo: the sample apps' compiled code (Bookinfo's and the videos catalogue's).
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { WEFT_VERSION } from "../../operator/api/version.js";
import { REPO_ROOT } from "../paths.js";
import { engineRoot } from "./engine.js";
import { cProgram, debs, nodeBinary } from "./inputs.js";

export const NON_ROOT = 65532;
export const APP = "/app";

const put = (root: string, file: string, data: string, mode = 0o644) => {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), data, { mode });
  chmodSync(join(root, file), mode);
};

/** The shared objects, the dynamic loader and iptables' nft binary from the Debian packages: no docs, locales, gconv or other tools. */
const keepFromDeb = (rel: string) =>
  ["usr", "usr/sbin", "usr/sbin/xtables-nft-multi"].includes(rel) ||
  (/^(usr\/)?lib(64)?(\/|$)/.test(rel) && !rel.includes("/gconv") && !rel.includes("/audit"));

/** The names `weft init` runs (iptables-save, iptables-restore), as Debian's alternatives point them: the nft backend. */
const IPTABLES = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"];

export function baseRoot(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const unpacked = `${dir}.deb`;
  for (const deb of debs()) {
    rmSync(unpacked, { recursive: true, force: true });
    execFileSync("dpkg-deb", ["-x", deb, unpacked]);
    cpSync(unpacked, dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => src === unpacked || keepFromDeb(relative(unpacked, src)),
    });
  }
  rmSync(unpacked, { recursive: true, force: true });
  for (const name of IPTABLES) symlinkSync("xtables-nft-multi", join(dir, "usr", "sbin", name));
  mkdirSync(join(dir, "usr", "local", "bin"), { recursive: true });
  copyFileSync(nodeBinary(), join(dir, "usr", "local", "bin", "node"));
  chmodSync(join(dir, "usr", "local", "bin", "node"), 0o755);
  put(
    dir,
    "etc/passwd",
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NON_ROOT}:${NON_ROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  put(dir, "etc/group", `root:x:0:\nnonroot:x:${NON_ROOT}:\n`);
  put(dir, "etc/nsswitch.conf", "hosts: files dns\n");
  mkdirSync(join(dir, "tmp"), { mode: 0o1777 });
  chmodSync(join(dir, "tmp"), 0o1777);
  mkdirSync(join(dir, "home", "nonroot"), { recursive: true });
}

/** Production dependencies' folders (relative to the repo), from the lockfile's tree. */
function productionPackages(): string[] {
  const out = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out
    .split("\n")
    .map((p) => relative(REPO_ROOT, p.trim()))
    .filter(
      (p) =>
        p.startsWith("node_modules/") &&
        !p.slice("node_modules/".length).includes("node_modules/") &&
        !p.startsWith("node_modules/@types/"),
    )
    .sort();
}

/** Typings, TypeScript sources, source maps and docs are never loaded at run time. */
const runtimeFile = (src: string) =>
  !/\.(d\.[cm]?ts|[cm]?ts|map|md|markdown)$/i.test(src) && !/\/node_modules\/@types(\/|$)/.test(src);
const distFile = (src: string) => !/\.(test\.js|map)$/.test(src);

/** The weft image's root for `version`: a version other than this build's is written into the image's copy of the
 * package (operator/api/version.js), so its `weft version`, its carrier's bundle name and its engine all say it. */
export async function weftRoot(dir: string, version = WEFT_VERSION): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const app = join(dir, APP.slice(1));
  mkdirSync(app, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  put(
    app,
    "package.json",
    JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type, license: pkg.license }, null, 2) + "\n",
  );
  for (const part of ["operator", "proxy"]) {
    cpSync(join(REPO_ROOT, "dist", part), join(app, "dist", part), { recursive: true, filter: distFile });
  }
  for (const p of productionPackages())
    cpSync(join(REPO_ROOT, p), join(app, p), { recursive: true, filter: runtimeFile });
  if (version !== WEFT_VERSION) {
    const file = join(app, "dist", "operator", "api", "version.js");
    const text = readFileSync(file, "utf8");
    const stamped = text.replace(
      `WEFT_VERSION = ${JSON.stringify(WEFT_VERSION)}`,
      `WEFT_VERSION = ${JSON.stringify(version)}`,
    );
    if (stamped === text) throw new Error(`${file}: no WEFT_VERSION to stamp with ${version}`);
    writeFileSync(file, stamped);
  }
  const bin = join(dir, "usr", "local", "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync(cProgram("weft", []), join(bin, "weft"));
  chmodSync(join(bin, "weft"), 0o755);
  // The engine at the default binaryPath: a bundle small enough for the engine carrier to copy (engine.ts).
  await engineRoot(dir, app, version);
}

export function bookinfoRoot(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const app = join(dir, APP.slice(1));
  put(app, "package.json", JSON.stringify({ name: "weft-bookinfo", private: true, type: "module" }, null, 2) + "\n");
  // The videos sample's apps ride along (they share Bookinfo's http.js): samples/videos/kube runs them from here.
  for (const sample of ["bookinfo", "videos"]) {
    const src = join(REPO_ROOT, "dist", "samples", sample, "apps");
    for (const f of readdirSync(src).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js"))) {
      mkdirSync(join(app, "dist", "samples", sample, "apps"), { recursive: true });
      copyFileSync(join(src, f), join(app, "dist", "samples", sample, "apps", f));
    }
  }
}

export function pauseRoot(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(cProgram("pause", ["-static"]), join(dir, "pause"));
  chmodSync(join(dir, "pause"), 0o755);
}
