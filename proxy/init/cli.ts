// `weft init`: the pod's traffic capture (see rules.ts), applied with iptables-restore, or printed with --dry-run.
import { spawn } from "node:child_process";
import type { Values } from "../../operator/api/contract.js";
import type { initRole } from "../../operator/api/roles.js";
import { captureRules, parseCaptureOptions } from "./rules.js";

export async function runInit(v: Values<typeof initRole>): Promise<number> {
  const options = parseCaptureOptions(v);
  if (v["dry-run"]) {
    process.stdout.write(captureRules(options));
    return 0;
  }
  const rules = captureRules(options, await output("iptables-save", ["-t", "nat"]));
  await iptablesRestore(rules);
  process.stdout.write(rules);
  process.stderr.write("weft init: traffic capture set up (iptables nat: ISTIO_INBOUND, ISTIO_OUTPUT)\n");
  return 0;
}

function output(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", (e) => reject(new Error(`${bin}: ${e.message} (the image needs iptables)`)));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} exited ${code}`))));
  });
}

/** Feeds iptables-restore --noflush; rejects naming the binary and its message. */
export function iptablesRestore(rules: string, bin = "iptables-restore"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["--noflush"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) =>
      reject(new Error(`${bin}: ${e.message} (the image needs iptables; the container needs NET_ADMIN and NET_RAW)`)),
    );
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${bin} exited ${code}: ${err.trim().split("\n")[0] ?? ""}`)),
    );
    child.stdin.end(rules);
  });
}
