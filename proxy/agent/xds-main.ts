// `weft proxy --discovery-address HOST:PORT --node-id ID`: the agent configured over ADS. It starts the engine
// with no listeners, binds the listeners LDS brings (as served with interception REDIRECT; reshaped by
// local-shape.ts with interception NONE), and serves until SIGTERM/SIGINT, then drains.
import { hostname } from "node:os";
import { isLoopbackAddress } from "../engine/admin-guard.js";
import { existsSync } from "node:fs";
import { WEFT_VERSION } from "../../operator/api/version.js";
import { enginePath, type EngineTarget } from "../xds/engine.js";
import type { PortOption } from "../engine/admin.js";
import type { Resources } from "../engine/config/types.js";
import { originalDstUnavailable } from "../native/original-dst.js";
import { Agent, DEFAULT_ENGINE } from "./agent.js";
import { EngineUpgrader } from "./engine-upgrade.js";
import { DEFAULT_ENGINES_DIR } from "./engines.js";
import { localShape } from "./local-shape.js";
import { XdsClient } from "./xds-client.js";
import { readFileSync } from "node:fs";
import { meshCredentials } from "./ca-client.js";
import { IdentityManager } from "./identity.js";
import { workloadSecrets } from "./secrets.js";
import { AGENT_SECRETS } from "./xds-state.js";

import { DEFAULT_ROOT_CERT, DEFAULT_TOKEN_FILE } from "../../operator/api/roles.js";

export interface XdsAgentFlags {
  discoveryAddress: string;
  /** Incremental xDS (falls back to state of the world when discovery has none). Default true. */
  delta?: boolean;
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
  /** Where engine bundles are: <enginesDir>/<version>/<binaryPath>. Default /var/lib/weft/engines. */
  enginesDir?: string;
  accessLog?: boolean;
  drainSeconds?: number;
  /** Engine worker processes (ProxyConfig concurrency, 0 already resolved). Default 1. */
  concurrency?: number;
  /** The bundle version of the engine this agent starts with. Default: this build's version. */
  engineVersion?: string;
  /** How long a desired engine that isn't there yet is waited for before it is reported Failed. Default 60 s. */
  engineWaitMs?: number;
  /** How long a new engine may take to serve before its hot restart is refused. Default 30 s. */
  engineReadyMs?: number;
  /**
   * The mesh CA (discovery's :15012): the agent gets its workload certificate there, hands it to the engine as the
   * SDS secrets `default` and `ROOTCA`, rotates it at half life, and stays unready while it has none. When the
   * discovery address is the same, xDS runs over mTLS with that certificate. Unset: no identity, plaintext.
   */
  caAddress?: string;
  /** The projected ServiceAccount token (audience istio-ca). */
  tokenFile?: string;
  /** The mesh root certificate, to verify the CA (and peers) with. */
  rootCertFile?: string;
  /** The name the CA's certificate is checked against, when caAddress isn't one of its names. */
  caServerName?: string;
  /** The certificate lifetime asked for, in seconds (0: the CA's default). */
  certTtlSeconds?: number;
  /** The SPIFFE ID the CSR asks for (Istio's agent: from TRUST_DOMAIN, POD_NAMESPACE, SERVICE_ACCOUNT); the CA
   * refuses it unless the token is that identity's. Unset: the CSR names none, the CA issues the token's. */
  identity?: string;
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
  identity: IdentityManager | undefined;
  /** Interception REDIRECT can't route without original destinations: why they are unavailable. */
  blocked: string | undefined;

  override get ready(): boolean {
    if (this.identity && !this.identity.current) return false;
    return super.ready && this.xds !== undefined && this.xds.applied !== "" && !this.blocked;
  }

  /** Why /healthz/ready says no: what a user reading `kubectl describe pod` needs to fix it. */
  override get notReady(): string | undefined {
    const xds = this.xds;
    if (this.blocked) return `interception REDIRECT: ${this.blocked}`;
    if (this.identity && !this.identity.current)
      return `no workload certificate: ${this.identity.lastError ?? "asking the mesh CA"}`;
    if (!xds || xds.applied !== "") return super.notReady;
    if (!xds.connected)
      return `no config yet: cannot reach discovery at ${xds.address}${xds.lastError ? ` (${xds.lastError})` : ""}`;
    return `no config yet: connected to discovery at ${xds.address}, waiting for a consistent config${xds.lastError ? ` (last error: ${xds.lastError})` : ""}`;
  }
}

export interface XdsAgent {
  agent: Agent;
  xds: XdsClient;
  /** The workload identity, when the agent has one (caAddress). */
  identity: IdentityManager | undefined;
  upgrader: EngineUpgrader;
  stop(): Promise<void>;
}

export async function startXdsAgent(flags: XdsAgentFlags, onQuit: () => void = () => undefined): Promise<XdsAgent> {
  const nodeId = flags.nodeId ?? defaultNodeId();
  const ip = nodeIp(nodeId);
  const log = flags.log ?? ((line: string): void => void process.stderr.write(`weft proxy ${nodeId}: ${line}\n`));
  // What the engine runs: local mode's shape (interception NONE), with the workload's SDS secrets, so that what the
  // agent checks before ACKing (transport sockets naming `default` and `ROOTCA`) is what the engine gets.
  const shape = (r: Resources): Resources =>
    withSecrets(
      flags.interception === "REDIRECT"
        ? r
        : localShape(r, { ip, appAddress: flags.appAddress, outboundPort: flags.outboundPort }),
    );
  // The engine it starts with: its bundle under the engines directory when the carrier put it there, else the
  // binary in the agent's own image. Every later engine comes from the engines directory only.
  const running: EngineTarget = {
    version: flags.engineVersion ?? WEFT_VERSION,
    binaryPath: flags.binaryPath ?? DEFAULT_ENGINE,
  };
  const enginesDir = flags.enginesDir ?? DEFAULT_ENGINES_DIR;
  const bundled = enginePath(enginesDir, running);
  // eslint-disable-next-line prefer-const -- assigned once the agent runs; the callbacks above read it
  let upgrader: EngineUpgrader | undefined;
  // The workload identity: SDS secrets added to every config, and swapped in (a config swap) on each rotation.
  let fromXds: Resources | undefined;
  const identity = flags.caAddress
    ? new IdentityManager({
        ca: {
          address: flags.caAddress,
          serverName: flags.caServerName,
          ttlSeconds: flags.certTtlSeconds,
          identity: flags.identity,
        },
        rootCertFile: flags.rootCertFile ?? DEFAULT_ROOT_CERT,
        tokenFile: flags.tokenFile ?? DEFAULT_TOKEN_FILE,
        log,
        onCert: async () => {
          if (fromXds) await agent.apply(withSecrets(fromXds));
        },
      })
    : undefined;
  // The workload's own secrets beside those discovery served (a gateway's credentialName Secrets).
  const withSecrets = (r: Resources): Resources =>
    identity?.current
      ? {
          ...r,
          secrets: [
            ...(r.secrets ?? []).filter((s) => !AGENT_SECRETS.has(String((s as { name?: unknown }).name))),
            ...workloadSecrets(identity.current),
          ],
        }
      : r;
  const mtlsXds = identity && flags.caAddress === flags.discoveryAddress;
  const xds: XdsClient = new XdsClient({
    address: flags.discoveryAddress,
    delta: flags.delta ?? true,
    node: { id: nodeId, cluster: nodeId.split("~")[2]?.split(".")[0] ?? "", user_agent_name: "weft", locality: {} },
    // `r` is shaped, so it has the current secrets already.
    apply: (r, compiled): Promise<void> => {
      fromXds = r;
      return agent.apply(r, compiled);
    },
    ...(mtlsXds
      ? {
          credentials: () =>
            meshCredentials(readFileSync(flags.rootCertFile ?? DEFAULT_ROOT_CERT, "utf8"), identity.current),
        }
      : {}),
    shape,
    log,
    engine: (t) => upgrader?.desire(t),
  });
  const agent: XdsConfiguredAgent = new XdsConfiguredAgent({
    resources: { version: "" },
    binaryPath: existsSync(bundled) ? bundled : running.binaryPath,
    enginesDir: flags.enginesDir,
    readyTimeoutMs: flags.engineReadyMs,
    onRollback: (e) => upgrader?.rolledBack(e.error),
    onRespawn: () => upgrader?.refresh(),
    adminAddress: adminAddressFor(nodeId, flags.adminAddress),
    bindAddress: flags.bindAddress ?? flags.adminAddress ?? ip,
    adminPort: flags.adminPort,
    statsPort: flags.statsPort,
    readyPort: flags.readyPort,
    accessLog: flags.accessLog,
    nodeId,
    drainMs: (flags.drainSeconds ?? 5) * 1000,
    concurrency: flags.concurrency,
    dumpExtra: (): Record<string, unknown> => xds.dump(),
    onQuit,
  });
  agent.xds = xds;
  agent.identity = identity;
  if (flags.interception === "REDIRECT") {
    agent.blocked = originalDstUnavailable();
    if (agent.blocked) log(`interception REDIRECT: ${agent.blocked}; staying unready`);
  }
  await agent.start();
  if (agent.ports.stats)
    xds.announceStats(
      `${agent.statsHost.includes(":") ? `[${agent.statsHost}]` : agent.statsHost}:${agent.ports.stats}`,
    );
  upgrader = new EngineUpgrader(agent, {
    enginesDir,
    running,
    waitMs: flags.engineWaitMs,
    onReport: (r) => xds.reportEngine(r),
    log,
  });
  xds.reportEngine(upgrader.report());
  // xDS waits for the certificate: over mTLS it needs it to connect, and a config naming the SDS secrets is only
  // valid with them (Envoy's warming). A refused CSR keeps the agent unready, saying why, and retrying.
  await identity?.start();
  let xdsStopped = false;
  if (identity)
    void identity.first.then(() => {
      if (!xdsStopped) xds.start();
    });
  else xds.start();
  return {
    agent,
    xds,
    identity,
    upgrader,
    async stop() {
      xdsStopped = true;
      identity?.stop();
      upgrader?.stop();
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
  process.stderr.write(
    `weft proxy (xds): discovery ${flags.discoveryAddress}; admin ${adminAddressFor(flags.nodeId ?? defaultNodeId(), flags.adminAddress)}:${agent.ports.admin}\n`,
  );
  process.once("SIGTERM", () => stop());
  process.once("SIGINT", () => stop());
  await stopped;
  await running.stop();
  return 0;
}
