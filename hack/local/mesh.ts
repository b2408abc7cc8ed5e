// The whole mesh as local processes: discovery on a config folder, the Bookinfo apps, one sidecar agent per
// workload, and an ingress gateway, all on loopback and configured over real xDS. Used by `npm start` and the
// e2e test. It runs the built package (dist/), so build first.
import { REPO_ROOT } from "../paths.js";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { gatewayNodeId, gatewayYaml, layout, sidecarNodeId, workloadEntries, workloadName, type LayoutOptions, type LocalLayout } from "./layout.js";
import { get, poll, Procs } from "./procs.js";
import { commandLine, type Args } from "../../operator/api/contract.js";
import { proxyRole } from "../../operator/api/roles.js";

/** The repository root: the nearest folder up from here with a package.json (works from src and dist). */
/** The package root (see hack/paths.ts). */
export const repoRoot = (): string => REPO_ROOT;

export interface MeshOptions extends LayoutOptions {
  /** The folder discovery watches. It is emptied of YAML and seeded. */
  configDir: string;
  /** Child process logs. Default: <configDir>/../logs. */
  logDir?: string;
  /** Files from samples/bookinfo/networking to seed besides the gateway. Default: destination-rule-all.yaml. */
  networking?: string[];
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

/** Writes the config folder: ServiceEntries from samples/bookinfo/local, WorkloadEntries for this layout, the gateway. */
export async function seedConfig(root: string, l: LocalLayout, dir: string, networking: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) if (/\.ya?ml$/.test(f)) await rm(path.join(dir, f));
  const local = await readFile(path.join(root, "samples/bookinfo/local/services.yaml"), "utf8");
  const entries = parseAllDocuments(local)
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o) => o?.kind === "ServiceEntry")
    .map((o) => stringify(o));
  await writeFile(path.join(dir, "services.yaml"), [...entries, workloadEntries(l)].join("---\n"));
  const gateway = await readFile(path.join(NETWORKING(root), "bookinfo-gateway.yaml"), "utf8");
  await writeFile(path.join(dir, "bookinfo-gateway.yaml"), gatewayYaml(gateway, l.gateway.port));
  for (const f of networking) await writeFile(path.join(dir, f), await readFile(path.join(NETWORKING(root), f), "utf8"));
}

interface Dump {
  xds?: { applied_version?: string; types?: Record<string, { error?: string }> };
}

export async function startLocalMesh(o: MeshOptions): Promise<LocalMesh> {
  const root = repoRoot();
  const cli = path.join(root, "dist/operator/cli/main.js");
  const appMain = path.join(root, "dist/samples/bookinfo/apps/main.js");
  if (!existsSync(cli) || !existsSync(appMain)) throw new Error(`${cli} or ${appMain} is missing: run npm run build first`);
  const l = layout(o);
  const say = o.progress ?? (() => undefined);
  const logDir = o.logDir ?? path.join(path.dirname(o.configDir), "logs");
  const procs = new Procs(logDir);
  const d = l.discovery;
  const monitoringUrl = `http://${d.ip}:${d.monitoringPort}`;
  const admin: Record<string, string> = {};
  try {
    await seedConfig(root, l, o.configDir, o.networking ?? ["destination-rule-all.yaml"]);
    say(`config      ${o.configDir}`);
    const discovery = procs.start("discovery", cli, ["discovery", "--config-dir", o.configDir, "--address", d.ip, "--xds-port", String(d.xdsPort), "--monitoring-port", String(d.monitoringPort)]);
    await procs.until(discovery, poll("discovery", async () => ((await get(`${monitoringUrl}/ready`))?.status === 200 ? true : undefined)));
    say(`discovery   xDS ${d.ip}:${d.xdsPort}, debug ${monitoringUrl}/debug/syncz`);
    const xds = `${d.ip}:${d.xdsPort}`;
    const proxyArgs = (nodeId: string, extra: Args<typeof proxyRole>): string[] =>
      commandLine(proxyRole, { "discovery-address": xds, "node-id": nodeId, "admin-port": l.adminPort, "drain-seconds": 1, ...extra });
    const waits: Promise<unknown>[] = [];
    for (const w of l.workloads) {
      const name = workloadName(w);
      const app = procs.start(name, appMain, [w.app, w.version, `${w.appIp}:${w.port}`, `${w.ip}:${l.outboundPort}`]);
      const sidecar = procs.start(`${name}-proxy`, cli, proxyArgs(sidecarNodeId(w), { "app-address": w.appIp, "outbound-port": l.outboundPort }));
      admin[name] = `http://${w.ip}:${l.adminPort}`;
      waits.push(procs.until(app, poll(name, async () => ((await get(`http://${w.appIp}:${w.port}/health`))?.status === 200 ? true : undefined))).then(() => say(`app         ${name} on ${w.appIp}:${w.port}`)));
      waits.push(procs.until(sidecar, configured(admin[name])).then(() => say(`sidecar     ${name} on ${w.ip} (inbound :${w.port}, outbound :${l.outboundPort}, admin :${l.adminPort})`)));
    }
    const gw = procs.start("gateway", cli, proxyArgs(gatewayNodeId(l), { "admin-address": l.gateway.adminIp }));
    admin["gateway"] = `http://${l.gateway.adminIp}:${l.adminPort}`;
    waits.push(procs.until(gw, configured(admin["gateway"])).then(() => say(`gateway     http://${l.gateway.ip}:${l.gateway.port} (admin ${admin["gateway"]})`)));
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
  const r = await poll(`${adminUrl}/config_dump`, async () => {
    const res = await get(`${adminUrl}/config_dump`);
    const xds = res?.status === 200 ? (JSON.parse(res.body) as Dump).xds : undefined;
    const error = Object.values(xds?.types ?? {}).find((t) => t.error)?.error;
    return error ? { error } : xds?.applied_version ? { version: xds.applied_version } : undefined;
  });
  if ("error" in r) throw new Error(`the proxy at ${adminUrl} rejected its config: ${r.error}`);
  return r.version;
}
