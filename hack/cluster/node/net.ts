// The real node's host networking, made by `up` and removed by `down`:
// - bridge weft0 with the node's address (10.244.100.1/24): the pods' gateway, InternalIP and DNS;
// - the Service CIDR routed onto the bridge, and the rest of the pod range unreachable, so an
//   address that kube-proxy doesn't translate (or a KWOK pod's, which is only data) never leaves;
// - filter chains: pods talk to pods and to the host only; nothing from other interfaces
//   reaches the node's addresses; nothing is forwarded off the machine;
// - the kubernetes Service (ClusterIP:443) translated to the API server on 127.0.0.1, which
//   keeps listening on loopback only (route_localnet on the bridge alone allows that);
// - net.ipv4.ip_forward and bridge-nf-call-iptables on, restored by `down`.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { KUBERNETES_SERVICE_IP, NODE, PORTS, SERVICE_CIDR, path } from "../layout.js";

const POD_RANGE = "10.244.0.0/16";
const IN = "WEFT-NODE-INPUT";
const FWD = "WEFT-NODE-FORWARD";
const NAT = "WEFT-NODE-API";

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
function attempt(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

const SYSCTLS = ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"];
const saved = path("node", "sysctl.json");

export const bridgeExists = () => existsSync(`/sys/class/net/${NODE.bridge}`);

/** The iptables rules, as argument lists (table, then the rule). Pure. */
export function rules(): Array<[string, string[]]> {
  return [
    ["filter", ["-A", IN, "-i", "lo", "-j", "RETURN"]],
    ["filter", ["-A", IN, "-i", NODE.bridge, "-j", "RETURN"]],
    ["filter", ["-A", IN, "-d", POD_RANGE, "-j", "DROP"]],
    ["filter", ["-A", IN, "-d", SERVICE_CIDR, "-j", "DROP"]],
    ["filter", ["-A", FWD, "-i", NODE.bridge, "-o", NODE.bridge, "-j", "ACCEPT"]],
    ["filter", ["-A", FWD, "-i", NODE.bridge, "-j", "DROP"]],
    ["filter", ["-A", FWD, "-o", NODE.bridge, "-j", "DROP"]],
    [
      "nat",
      [
        "-A",
        NAT,
        "-i",
        NODE.bridge,
        "-d",
        `${KUBERNETES_SERVICE_IP}/32`,
        "-p",
        "tcp",
        "--dport",
        "443",
        "-j",
        "DNAT",
        "--to-destination",
        `127.0.0.1:${PORTS.apiserver}`,
      ],
    ],
  ];
}

const JUMPS: Array<[string, string, string]> = [
  ["filter", "INPUT", IN],
  ["filter", "FORWARD", FWD],
  ["nat", "PREROUTING", NAT],
];

export function setUp(): void {
  if (!existsSync(saved)) {
    const before = Object.fromEntries(SYSCTLS.map((s) => [s, readFileSync(`/proc/sys/${s}`, "utf8").trim()]));
    writeFileSync(saved, JSON.stringify(before));
  }
  if (!bridgeExists()) {
    run("ip", ["link", "add", NODE.bridge, "type", "bridge"]);
    run("ip", ["addr", "add", `${NODE.ip}/24`, "dev", NODE.bridge]);
  }
  run("ip", ["link", "set", NODE.bridge, "up"]);
  run("ip", ["route", "replace", SERVICE_CIDR, "dev", NODE.bridge, "src", NODE.ip]);
  run("ip", ["route", "replace", "unreachable", POD_RANGE]);
  for (const s of SYSCTLS) writeFileSync(`/proc/sys/${s}`, "1");
  writeFileSync(`/proc/sys/net/ipv4/conf/${NODE.bridge}/route_localnet`, "1");
  removeRules();
  for (const [table, , chain] of JUMPS) run("iptables", ["-t", table, "-N", chain]);
  for (const [table, rule] of rules()) run("iptables", ["-t", table, ...rule]);
  for (const [table, parent, chain] of JUMPS) run("iptables", ["-t", table, "-I", parent, "1", "-j", chain]);
}

function removeRules(): void {
  for (const [table, parent, chain] of JUMPS) {
    while (attempt("iptables", ["-t", table, "-D", parent, "-j", chain]));
    attempt("iptables", ["-t", table, "-F", chain]);
    attempt("iptables", ["-t", table, "-X", chain]);
  }
}

/**
 * An iptables-restore --noflush script that removes every KUBE-* chain in `save` (iptables-save's
 * output) and the rules in other chains that jump to one: what kubelet and kube-proxy made. Pure.
 */
export function kubeChainsRemoval(save: string): string {
  const out: string[] = [];
  let table = "";
  let body: string[] = [];
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) {
      table = line;
      body = [];
    } else if (line === "COMMIT") {
      const chains = body.filter((l) => l.startsWith(":KUBE-")).map((l) => l.slice(1).split(" ")[0]);
      const jumps = body.filter((l) => /^-A (?!KUBE-)\S+ .*-j KUBE-/.test(l)).map((l) => `-D${l.slice(2)}`);
      if (chains.length)
        out.push(table, ...jumps, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), "COMMIT");
    } else body.push(line);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

function removeKubeChains(): void {
  for (const bin of ["iptables", "ip6tables"]) {
    let script = "";
    try {
      script = kubeChainsRemoval(run(`${bin}-save`, []));
    } catch {
      continue; // no such backend here
    }
    if (script) execFileSync(`${bin}-restore`, ["--noflush"], { input: script, stdio: ["pipe", "ignore", "pipe"] });
  }
}

/** Removes everything setUp made, and the chains kubelet and kube-proxy made; each step is skipped when already gone. */
export function tearDown(): void {
  removeRules();
  removeKubeChains();
  if (bridgeExists()) {
    for (const port of run("ip", ["-o", "link", "show", "master", NODE.bridge]).split("\n")) {
      const name = /^\d+: ([^@:]+)/.exec(port)?.[1];
      if (name) attempt("ip", ["link", "delete", name]);
    }
    attempt("ip", ["link", "delete", NODE.bridge]);
  }
  attempt("ip", ["route", "delete", SERVICE_CIDR]);
  attempt("ip", ["route", "delete", "unreachable", POD_RANGE]);
  if (existsSync(saved)) {
    const before = JSON.parse(readFileSync(saved, "utf8")) as Record<string, string>;
    for (const [s, v] of Object.entries(before)) {
      try {
        writeFileSync(`/proc/sys/${s}`, String(Number(v)));
      } catch {
        // the setting (or the bridge module) is gone: nothing to restore
      }
    }
  }
}
