// `weft proxy --discovery-address HOST:PORT --node-id ID`: the agent configured over ADS. It starts the engine
// with no listeners, binds the listeners LDS brings (as served with interception REDIRECT; reshaped by
// local-shape.ts with interception NONE), and serves until SIGTERM/SIGINT, then drains.
import { hostname } from "node:os";
import { isLoopbackAddress } from "../engine/admin-guard.js";
import type { PortOption } from "../engine/admin.js";
import type { Resources } from "../engine/config/types.js";
import { Agent } from "./agent.js";
import { localShape } from "./local-shape.js";
import { XdsClient } from "./xds-client.js";

export interface XdsAgentFlags {
  discoveryAddress: string;
  /** `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` or `router~...`. */
  nodeId?: string;
  /** REDIRECT: iptables sends the pod's traffic to 15001/15006, listeners are used as served. Default NONE. */
  interception?: "NONE" | "REDIRECT";
  /** Where the app listens (the inbound clusters' target). */
  appAddress?: string;
  outboundPort?: number;
  /** Admin binds here: a loopback address only. Default: the node's IP when that is loopback (local mode, where
   * workloads share the host), else 127.0.0.1. */
  adminAddress?: string;
  /** Stats and readiness bind here. Default: adminAddress. */
  bindAddress?: string;
  adminPort?: PortOption;
  statsPort?: PortOption;
  readyPort?: PortOption;
  binaryPath?: string;
  enginesDir?: string;
  accessLog?: boolean;
  drainSeconds?: number;
  /** Where the xDS client's notes go (NACKs, reconnects). Default: stderr. */
  log?: (line: string) => void;
}

export function defaultNodeId(): string {
  return `sidecar~127.0.0.1~${hostname()}.default~default.svc.cluster.local`;
}

/** The IP in a node id (`kind~ip~...`), or 127.0.0.1. */
export function nodeIp(nodeId: string): string {
  return nodeId.split("~")[1] || "127.0.0.1";
}

/** Where the admin port binds: never the pod IP (Istio keeps Envoy's admin on 127.0.0.1). */
export function adminAddressFor(nodeId: string, flag?: string): string {
  if (flag !== undefined) return flag; // startAdmin refuses one that is not loopback
  const ip = nodeIp(nodeId);
  return isLoopbackAddress(ip) ? ip : "127.0.0.1";
}

/** An agent that is ready (/ready, /healthz/ready) only once it serves a config from discovery. */
class XdsConfiguredAgent extends Agent {
  xds: XdsClient | undefined;

  override get ready(): boolean {
    return super.ready && this.xds !== undefined && this.xds.applied !== "";
  }

  /** Why /healthz/ready says no: what a user reading `kubectl describe pod` needs to fix it. */
  override get notReady(): string | undefined {
    const xds = this.xds;
    if (!xds || xds.applied !== "") return super.notReady;
    if (!xds.connected) return `no config yet: cannot reach discovery at ${xds.address}${xds.lastError ? ` (${xds.lastError})` : ""}`;
    return `no config yet: connected to discovery at ${xds.address}, waiting for a consistent config${xds.lastError ? ` (last error: ${xds.lastError})` : ""}`;
  }
}

export interface XdsAgent {
  agent: Agent;
  xds: XdsClient;
  stop(): Promise<void>;
}

export async function startXdsAgent(flags: XdsAgentFlags, onQuit: () => void = () => undefined): Promise<XdsAgent> {
  const nodeId = flags.nodeId ?? defaultNodeId();
  const ip = nodeIp(nodeId);
  const log = flags.log ?? ((line: string): void => void process.stderr.write(`weft proxy ${nodeId}: ${line}\n`));
  const shape =
    flags.interception === "REDIRECT"
      ? undefined
      : (r: Resources): Resources => localShape(r, { ip, appAddress: flags.appAddress, outboundPort: flags.outboundPort });
  const xds: XdsClient = new XdsClient({
    address: flags.discoveryAddress,
    node: { id: nodeId, cluster: nodeId.split("~")[2]?.split(".")[0] ?? "", user_agent_name: "weft", locality: {} },
    apply: (r): Promise<void> => agent.apply(r),
    shape,
    log,
  });
  const agent: XdsConfiguredAgent = new XdsConfiguredAgent({
    resources: { version: "" },
    binaryPath: flags.binaryPath,
    enginesDir: flags.enginesDir,
    adminAddress: adminAddressFor(nodeId, flags.adminAddress),
    bindAddress: flags.bindAddress ?? flags.adminAddress ?? ip,
    adminPort: flags.adminPort,
    statsPort: flags.statsPort,
    readyPort: flags.readyPort,
    accessLog: flags.accessLog,
    drainMs: (flags.drainSeconds ?? 5) * 1000,
    dumpExtra: (): Record<string, unknown> => xds.dump(),
    onQuit,
  });
  agent.xds = xds;
  await agent.start();
  xds.start();
  return {
    agent,
    xds,
    async stop() {
      xds.stop();
      await agent.stop();
    },
  };
}

export async function runXdsAgent(flags: XdsAgentFlags): Promise<number> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running = await startXdsAgent(flags, () => stop());
  const { agent } = running;
  process.stderr.write(`weft proxy (xds): discovery ${flags.discoveryAddress}; admin ${adminAddressFor(flags.nodeId ?? defaultNodeId(), flags.adminAddress)}:${agent.ports.admin}\n`);
  process.once("SIGTERM", () => stop());
  process.once("SIGINT", () => stop());
  await stopped;
  await running.stop();
  return 0;
}
