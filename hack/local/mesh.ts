// The whole mesh as local processes: discovery on a config folder, the Bookinfo apps, one sidecar agent per
// workload, and an ingress gateway, all on loopback and configured over real xDS. Used by `npm start` and the
// e2e test. It runs the built package (dist/), so build first.
import { REPO_ROOT } from "../paths.js";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { localCa } from "../../operator/discovery/ca/local.js";
import { mintLocalToken } from "../../operator/discovery/ca/authn.js";
import {
  GATEWAY_SERVICE_ACCOUNT,
  gatewayNodeId,
  gatewayYaml,
  layout,
  serviceEntries,
  sidecarNodeId,
  workloadEntries,
  workloadName,
  type LayoutOptions,
  type LocalLayout,
} from "./layout.js";
import { get, poll, Procs } from "./procs.js";
import { expandCommand, missingPrograms, onPath, parseWorkloads, type WorkloadsFile } from "./workloads.js";
import { commandLine, type Args } from "../../operator/api/contract.js";
import { discoveryRole, proxyRole } from "../../operator/api/roles.js";
import { DISCOVERY_PROCESS_ENV, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";

/** The repository root: the nearest folder up from here with a package.json (works from src and dist). */
/** The package root (see hack/paths.ts). */
export const repoRoot = (): string => REPO_ROOT;

export interface MeshOptions extends LayoutOptions {
  /** The folder discovery watches. Only the files seeded here are (re)written; the rest is left alone. */
  configDir: string;
  /** Child process logs. Default: <configDir>/../logs. */
  logDir?: string;
  /** The workloads and the config they seed. Default: Bookinfo (samples/bookinfo/local/weft.local.yaml). */
  workloads?: WorkloadsFile;
  /** More files from samples/bookinfo/networking to seed. */
  networking?: string[];
  /** Istio's MeshConfig YAML for discovery (`--mesh-config`, watched). */
  meshConfig?: string;
  progress?: (line: string) => void;
}

export interface LocalMesh {
  layout: LocalLayout;
  configDir: string;
  logDir: string;
  gatewayUrl: string;
  monitoringUrl: string;
  /** Admin URL (/config_dump) of each proxy, by workload name; "gateway" for the gateway. */
  admin: Record<string, string>;
  stop(): Promise<void>;
}

export const NETWORKING = (root: string): string => path.join(root, "samples/bookinfo/networking");

/** The default workloads file: Bookinfo. */
export const BOOKINFO_WORKLOADS = (root: string): string => path.join(root, "samples/bookinfo/local/weft.local.yaml");

export function readWorkloads(file: string): WorkloadsFile {
  return parseWorkloads(readFileSync(file, "utf8"), file);
}

/** Local ServiceAccount tokens (the agent reads its file again for each certificate): a week, minted at each start. */
const TOKEN_TTL_MS = 7 * 24 * 3600_000;

/** The files `npm start` owns in the config folder: rewritten at each start; nothing else there is touched. */
export const SEEDED_SERVICES = "services.yaml";

/** Writes the config folder: a ServiceEntry per service, a WorkloadEntry per workload, and the seeded files. */
export async function seedConfig(l: LocalLayout, dir: string, files: string[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, SEEDED_SERVICES), [serviceEntries(l), workloadEntries(l)].join("---\n"));
  const written = [SEEDED_SERVICES];
  for (const f of files) {
    const text = await readFile(f, "utf8");
    // A Gateway's port is the local gateway's port (Istio's files say 8080).
    await writeFile(
      path.join(dir, path.basename(f)),
      /^kind: Gateway$/m.test(text) ? gatewayYaml(text, l.gateway.port) : text,
    );
    written.push(path.basename(f));
  }
  return written;
}

/** Resolves once something accepts TCP connections at host:port. */
function accepting(host: string, port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(undefined));
  });
}

interface Dump {
  xds?: { applied_version?: string; types?: Record<string, { error?: string }> };
}

export async function startLocalMesh(o: MeshOptions): Promise<LocalMesh> {
  const root = repoRoot();
  const cli = path.join(root, "dist/operator/cli/main.js");
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  const workloads = o.workloads ?? readWorkloads(BOOKINFO_WORKLOADS(root));
  const missing = missingPrograms(workloads.workloads, onPath);
  if (missing.length) throw new Error(missing.join("\n"));
  const l = layout(o, workloads.workloads);
  const say = o.progress ?? (() => undefined);
  const logDir = o.logDir ?? path.join(path.dirname(o.configDir), "logs");
  const procs = new Procs(logDir);
  const d = l.discovery;
  const monitoringUrl = `http://${d.ip}:${d.monitoringPort}`;
  const admin: Record<string, string> = {};
  try {
    const extra = (o.networking ?? []).map((f) => path.join(NETWORKING(root), f));
    await seedConfig(l, o.configDir, [...workloads.config, ...extra]);
    say(`config      ${o.configDir}`);
    // The mesh config (Istio's MeshConfig, as in ConfigMap weft-mesh) is read from mesh.yaml beside the config
    // folder (or the file given), and watched: create it to turn on the access log or change the default retries.
    const meshConfig = o.meshConfig ?? path.join(path.dirname(o.configDir), "mesh.yaml");
    // The mesh CA (created on first start, kept in <state>/ca): discovery signs each workload's certificate, the
    // token a workload presents is minted here from the same key (local mode has no API server to ask).
    const caDir = path.join(path.dirname(o.configDir), "ca");
    const discoveryArgs = commandLine(discoveryRole, {
      "config-dir": o.configDir,
      "mesh-config": meshConfig,
      address: d.ip,
      "xds-port": d.xdsPort,
      "secure-port": d.securePort,
      "ca-dir": caDir,
      "monitoring-port": d.monitoringPort,
    });
    const discovery = procs.start("discovery", cli, discoveryArgs, DISCOVERY_PROCESS_ENV);
    await procs.until(
      discovery,
      poll("discovery", async () => ((await get(`${monitoringUrl}/ready`))?.status === 200 ? true : undefined)),
    );
    say(
      `discovery   xDS ${d.ip}:${d.xdsPort}, mesh CA and xDS over mTLS ${d.ip}:${d.securePort}, debug ${monitoringUrl}/debug/syncz`,
    );
    // Every proxy gets its identity from discovery's CA and its config over mTLS on the secure port.
    const secure = `${d.ip}:${d.securePort}`;
    const { tokenKey, rootCertFile } = await localCa(caDir);
    const tokens = path.join(caDir, "tokens");
    await mkdir(tokens, { recursive: true, mode: 0o700 });
    const proxyArgs = async (nodeId: string, serviceAccount: string, extra: Args<typeof proxyRole>) => {
      const tokenFile = path.join(tokens, `${serviceAccount}.token`);
      const token = mintLocalToken(tokenKey, { namespace: "default", serviceAccount }, TOKEN_TTL_MS);
      await writeFile(tokenFile, token, { mode: 0o600 });
      return commandLine(proxyRole, {
        "discovery-address": secure,
        "ca-address": secure,
        "token-file": tokenFile,
        "root-cert": rootCertFile,
        "node-id": nodeId,
        "admin-port": l.adminPort,
        "drain-seconds": 1,
        ...extra,
      });
    };
    const waits: Promise<unknown>[] = [];
    for (const w of l.workloads) {
      const name = workloadName(w);
      const [command = "", ...args] = expandCommand(w.command, {
        ip: w.appIp,
        port: w.port,
        proxy: `${w.ip}:${l.outboundPort}`,
        sidecar: w.ip,
        root,
        node: process.execPath,
      });
      const app = procs.spawn(name, command, args);
      const sidecar = procs.start(
        `${name}-proxy`,
        cli,
        await proxyArgs(sidecarNodeId(w), w.serviceAccount, {
          "app-address": w.appIp,
          "outbound-port": l.outboundPort,
        }),
        PROXY_PROCESS_ENV,
      );
      admin[name] = `http://${w.ip}:${l.adminPort}`;
      waits.push(
        procs
          .until(
            app,
            poll(name, () => accepting(w.appIp, w.port)),
          )
          .then(() => say(`app         ${name} on ${w.appIp}:${w.port}`)),
      );
      waits.push(
        procs
          .until(sidecar, configured(admin[name]))
          .then(() =>
            say(
              `sidecar     ${name} on ${w.ip} (inbound :${w.port}, outbound :${l.outboundPort}, admin :${l.adminPort})`,
            ),
          ),
      );
    }
    const gw = procs.start(
      "gateway",
      cli,
      await proxyArgs(gatewayNodeId(l), GATEWAY_SERVICE_ACCOUNT, { "admin-address": l.gateway.adminIp }),
      PROXY_PROCESS_ENV,
    );
    admin["gateway"] = `http://${l.gateway.adminIp}:${l.adminPort}`;
    waits.push(
      procs
        .until(gw, configured(admin["gateway"]))
        .then(() => say(`gateway     http://${l.gateway.ip}:${l.gateway.port} (admin ${admin["gateway"]})`)),
    );
    await Promise.all(waits);
  } catch (err) {
    await procs.stopAll();
    throw err;
  }
  return {
    layout: l,
    configDir: o.configDir,
    logDir,
    gatewayUrl: `http://${l.gateway.ip}:${l.gateway.port}`,
    monitoringUrl,
    admin,
    stop: () => procs.stopAll(),
  };
}

/** Resolves once the proxy at this admin URL serves a config from discovery; rejects on a NACK (a port in use). */
async function configured(adminUrl: string): Promise<string> {
  const r = await poll(
    `${adminUrl}/config_dump`,
    async () => {
      const res = await get(`${adminUrl}/config_dump`);
      const xds = res?.status === 200 ? (JSON.parse(res.body) as Dump).xds : undefined;
      const error = Object.values(xds?.types ?? {}).find((t) => t.error)?.error;
      return error ? { error } : xds?.applied_version ? { version: xds.applied_version } : undefined;
    },
    60_000,
  ); // a loaded machine starts 14 processes slowly
  if ("error" in r) throw new Error(`the proxy at ${adminUrl} rejected its config: ${r.error}`);
  return r.version;
}
