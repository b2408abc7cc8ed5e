// `weft proxy`: the role's flags (operator/api/roles.ts) → the xDS agent, the static agent, or the bare engine.
import { availableParallelism, hostname } from "node:os";
import type { Values } from "../../operator/api/contract.js";
import type { proxyRole } from "../../operator/api/roles.js";
import { spiffeId } from "../xds/ca.js";

type Flags = Values<typeof proxyRole>;

/** Istio's node id: `<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, from the env the injector sets. */
export function nodeIdFrom(f: Pick<Flags, "type" | "instance-ip" | "pod-name" | "pod-namespace">): string {
  const ns = f["pod-namespace"] || "default";
  return `${f.type}~${f["instance-ip"] || "127.0.0.1"}~${f["pod-name"] || hostname()}.${ns}~${ns}.svc.cluster.local`;
}

/** ProxyConfig concurrency: 0 is one worker per core, as Envoy's. */
export function workersFor(concurrency: number): number {
  return concurrency === 0 ? availableParallelism() : concurrency;
}

export async function runProxyRole(f: Flags): Promise<number> {
  if (f["discovery-address"]) {
    const { runXdsAgent, nodeIp } = await import("./xds-main.js");
    const nodeId = f["node-id"] ?? nodeIdFrom(f);
    const ip = nodeIp(nodeId);
    return runXdsAgent({
      discoveryAddress: f["discovery-address"],
      delta: f["delta-xds"],
      nodeId,
      interception: f["interception-mode"] === "REDIRECT" ? "REDIRECT" : "NONE",
      appAddress: f["app-address"],
      outboundPort: f["outbound-port"],
      // Admin never leaves loopback (adminAddressFor); readiness and Prometheus answer on the pod IP when there is one.
      adminAddress: f["admin-address"],
      bindAddress: f["instance-ip"] ? "0.0.0.0" : ip,
      adminPort: f["admin-port"],
      statsPort: f["stats-port"],
      readyPort: f["ready-port"],
      binaryPath: f["binary-path"],
      enginesDir: f["engines-dir"],
      engineVersion: f["engine-version"],
      engineWaitMs: f["engine-wait"],
      engineReadyMs: f["engine-ready-timeout"],
      accessLog: f["access-log"],
      drainSeconds: f["drain-seconds"],
      concurrency: workersFor(f.concurrency),
      caAddress: f["ca-address"],
      tokenFile: f["token-file"],
      rootCertFile: f["root-cert"],
      caServerName: f["ca-server-name"],
      certTtlSeconds: f["cert-ttl"] === undefined ? undefined : Math.round(f["cert-ttl"] / 1000),
      ...(f["service-account"]
        ? { identity: spiffeId(f["trust-domain"], f["pod-namespace"] || "default", f["service-account"]) }
        : {}),
    });
  }
  const bootstrap = f.bootstrap;
  if (!bootstrap) {
    const { UsageError } = await import("../../operator/api/contract.js");
    throw new UsageError("--discovery-address (or $DISCOVERY_ADDRESS) or --bootstrap FILE is required");
  }
  const flags = {
    bootstrap,
    adminPort: f["admin-port"],
    statsPort: f["stats-port"],
    readyPort: f["ready-port"],
    accessLog: f["access-log"],
    drainSeconds: f["drain-seconds"],
    // Prometheus and readiness bind where the bootstrap's admin binds, unless --instance-ip says the pod's IP.
    ...(f["instance-ip"] ? { bindAddress: "0.0.0.0" } : {}),
  };
  if (!f.agent && f.concurrency !== 1) {
    const { UsageError } = await import("../../operator/api/contract.js");
    throw new UsageError("--concurrency needs --agent (or --discovery-address): the agent runs the engine workers");
  }
  if (f.agent) {
    const { runAgent } = await import("./main.js");
    return runAgent({
      ...flags,
      binaryPath: f["binary-path"],
      enginesDir: f["engines-dir"],
      concurrency: workersFor(f.concurrency),
    });
  }
  const { runProxy } = await import("../engine/main.js");
  return runProxy(flags);
}
