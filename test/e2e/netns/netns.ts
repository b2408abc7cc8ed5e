// Network namespaces this test creates and removes itself: a "pod" and a "peer" joined by a veth pair. Traffic goes
// only between them (10.250.0.1 ↔ 10.250.0.2) and to their own loopbacks. Needs root (ip netns, iptables).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

export interface Pair {
  pod: string;
  peer: string;
  podIp: string;
  peerIp: string;
  remove(): void;
}

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim() || r.error?.message}`);
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error("this suite needs root (ip netns, iptables): run it as root, as .ci/run does");
  for (const bin of ["ip", "iptables-restore", "iptables-save", "setpriv"]) {
    if (spawnSync("which", [bin]).status !== 0)
      throw new Error(`${bin} is missing: apt-get install iproute2 iptables util-linux`);
  }
}

export function createPair(tag: string): Pair {
  const pod = `weft-pod-${tag}`;
  const peer = `weft-peer-${tag}`;
  const [podIp, peerIp] = ["10.250.0.1", "10.250.0.2"];
  const remove = () => {
    for (const ns of [pod, peer]) spawnSync("ip", ["netns", "del", ns]);
  };
  remove();
  try {
    ip("netns", "add", pod);
    ip("netns", "add", peer);
    ip("link", "add", `wp${tag}`, "netns", pod, "type", "veth", "peer", "name", `wq${tag}`, "netns", peer);
    for (const [ns, dev, addr] of [
      [pod, `wp${tag}`, podIp],
      [peer, `wq${tag}`, peerIp],
    ] as const) {
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", dev);
      ip("-n", ns, "link", "set", dev, "up");
    }
    // The pod's default route goes to the peer, so a service VIP (10.96.0.x) has a route, as in a real pod;
    // nothing answers for it there, so only the sidecar can make such a connection work.
    ip("-n", pod, "route", "add", "default", "via", peerIp);
  } catch (err) {
    remove();
    throw err;
  }
  return { pod, peer, podIp, peerIp, remove };
}

/** A process in a namespace, optionally as another user (the proxy's UID). */
export function spawnIn(
  ns: string,
  argv: string[],
  opts: { uid?: number; log?: (s: string) => void } = {},
): ChildProcess {
  const user =
    opts.uid === undefined ? [] : ["setpriv", `--reuid=${opts.uid}`, `--regid=${opts.uid}`, "--clear-groups"];
  const child = spawn("ip", ["netns", "exec", ns, ...user, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => opts.log?.(d.toString()));
  child.stderr?.on("data", (d: Buffer) => opts.log?.(d.toString()));
  return child;
}

/** Runs to completion in a namespace; its stdout. */
export function runIn(ns: string, argv: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (process.env.WEFT_DEBUG) process.stderr.write(err);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(" ")} in ${ns} exited ${code}: ${err.trim()}`));
    });
  });
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
