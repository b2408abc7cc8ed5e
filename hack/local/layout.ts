// Where each piece of the local mesh lives on loopback, and the config folder that describes it. Pure.
//
// Every workload gets its own loopback IP (base.N): its sidecar binds there (inbound on the service port,
// outbound on 15001, admin on 15000), and its app listens on appBase.N. Discovery gets base.1, the gateway's
// admin base.2; the gateway's traffic port is on 127.0.0.1. 127.0.0.1's Istio ports stay free.
import { stringify } from "yaml";

export interface Workload {
  app: string;
  version: string;
  /** The sidecar's address: the WorkloadEntry address other proxies send to. */
  ip: string;
  /** Where the app itself listens. */
  appIp: string;
  port: number;
}

export interface LocalLayout {
  discovery: { ip: string; xdsPort: number; monitoringPort: number };
  gateway: { ip: string; port: number; adminIp: string };
  outboundPort: number;
  adminPort: number;
  workloads: Workload[];
}

export interface LayoutOptions {
  /** First three octets of the sidecars' IPs. Default 127.0.10. */
  base?: string;
  /** First three octets of the apps' IPs. Default 127.0.11. */
  appBase?: string;
  gatewayPort?: number;
  gatewayIp?: string;
  xdsPort?: number;
  monitoringPort?: number;
}

export const BOOKINFO: [string, string][] = [
  ["productpage", "v1"],
  ["details", "v1"],
  ["reviews", "v1"],
  ["reviews", "v2"],
  ["reviews", "v3"],
  ["ratings", "v1"],
];

export const SERVICE_PORT = 9080;

export function layout(o: LayoutOptions = {}): LocalLayout {
  const base = o.base ?? "127.0.10";
  const appBase = o.appBase ?? "127.0.11";
  return {
    discovery: { ip: `${base}.1`, xdsPort: o.xdsPort ?? 15010, monitoringPort: o.monitoringPort ?? 15014 },
    gateway: { ip: o.gatewayIp ?? "127.0.0.1", port: o.gatewayPort ?? 8080, adminIp: `${base}.2` },
    outboundPort: 15001,
    adminPort: 15000,
    workloads: BOOKINFO.map(([app, version], i) => ({ app, version, ip: `${base}.${11 + i}`, appIp: `${appBase}.${11 + i}`, port: SERVICE_PORT })),
  };
}

export const workloadName = (w: Workload): string => `${w.app}-${w.version}`;

export function sidecarNodeId(w: Workload): string {
  return `sidecar~${w.ip}~${workloadName(w)}.default~default.svc.cluster.local`;
}

export function gatewayNodeId(l: LocalLayout): string {
  return `router~${l.gateway.ip}~istio-ingressgateway.default~default.svc.cluster.local`;
}

/** One WorkloadEntry per workload, at its sidecar's address, labelled app and version. */
export function workloadEntries(l: LocalLayout): string {
  return l.workloads
    .map((w) =>
      stringify({
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: { name: workloadName(w) },
        spec: { address: w.ip, ports: { http: w.port }, labels: { app: w.app, version: w.version } },
      }),
    )
    .join("---\n");
}

/** Istio's bookinfo-gateway.yaml with the gateway's port. */
export function gatewayYaml(istioFile: string, port: number): string {
  return istioFile.replace(/number: 8080/g, `number: ${port}`);
}
