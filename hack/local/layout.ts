// Where each piece of the local mesh lives on loopback, and the config folder that describes it. Pure.
//
// Every workload gets its own loopback IP (base.N): its sidecar binds there (inbound on the service port,
// outbound on 15001, admin on 15000), and its app listens on appBase.N. Discovery gets base.1, the gateway's
// admin base.2; the gateway's traffic port is on 127.0.0.1. 127.0.0.1's Istio ports stay free.
import { stringify } from "yaml";
import type { AppProtocol, WorkloadSpec } from "./workloads.js";
import { TLS_MODE_LABEL } from "../../operator/discovery/translate/mtls.js";

export interface Workload {
  app: string;
  version: string;
  /** The sidecar's address: the WorkloadEntry address other proxies send to. */
  ip: string;
  /** Where the app itself listens. */
  appIp: string;
  port: number;
  protocol: AppProtocol;
  labels: Record<string, string>;
  command: string[];
  /** Its ServiceAccount in namespace default: the identity its certificate from discovery's CA carries. */
  serviceAccount: string;
}

export interface LocalLayout {
  /** xdsPort plaintext (15010); securePort the mesh CA and xDS over mTLS (15012), where the proxies connect. */
  discovery: { ip: string; xdsPort: number; securePort: number; monitoringPort: number };
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
  securePort?: number;
  monitoringPort?: number;
}

export function layout(o: LayoutOptions, specs: WorkloadSpec[]): LocalLayout {
  const base = o.base ?? "127.0.10";
  const appBase = o.appBase ?? "127.0.11";
  if (specs.length > 240)
    throw new Error(`${specs.length} workloads: local mode has room for 240 (${base}.11 to ${base}.250)`);
  return {
    discovery: {
      ip: `${base}.1`,
      xdsPort: o.xdsPort ?? 15010,
      securePort: o.securePort ?? 15012,
      monitoringPort: o.monitoringPort ?? 15014,
    },
    gateway: { ip: o.gatewayIp ?? "127.0.0.1", port: o.gatewayPort ?? 8080, adminIp: `${base}.2` },
    outboundPort: 15001,
    adminPort: 15000,
    workloads: specs.map((w, i) => ({
      app: w.name,
      version: w.version,
      ip: `${base}.${11 + i}`,
      appIp: `${appBase}.${11 + i}`,
      port: w.port,
      protocol: w.protocol,
      labels: w.labels,
      command: w.command,
      serviceAccount: w.serviceAccount ?? w.name,
    })),
  };
}

export const workloadName = (w: Workload): string => `${w.app}-${w.version}`;

export function sidecarNodeId(w: Workload): string {
  return `sidecar~${w.ip}~${workloadName(w)}.default~default.svc.cluster.local`;
}

export function gatewayNodeId(l: LocalLayout): string {
  return `router~${l.gateway.ip}~${GATEWAY_WORKLOAD}.default~default.svc.cluster.local`;
}

const portName = (p: AppProtocol): string => p.toLowerCase();

/**
 * One ServiceEntry per service (the workloads' names): host = the name, its port and protocol, endpoints = the
 * WorkloadEntries labelled app=<name>. A TCP service also gets a virtual IP from Istio's auto-allocation range
 * (240.240.0.0/16), which is how its listener is found; in local mode each sidecar binds that port on its own IP.
 */
export function serviceEntries(l: LocalLayout): string {
  const services = [...new Map(l.workloads.map((w) => [w.app, w])).values()];
  return services
    .map((w, i) =>
      stringify({
        apiVersion: "networking.istio.io/v1",
        kind: "ServiceEntry",
        metadata: { name: w.app },
        spec: {
          hosts: [w.app],
          ...(w.protocol === "TCP" ? { addresses: [`240.240.0.${i + 1}`] } : {}),
          location: "MESH_INTERNAL",
          resolution: "STATIC",
          ports: [{ number: w.port, name: portName(w.protocol), protocol: w.protocol }],
          workloadSelector: { labels: { app: w.app } },
        },
      }),
    )
    .join("---\n");
}

/** The local gateway's labels: Istio's ingress gateway's, which Istio's Gateways select (`istio: ingressgateway`). */
/** The local gateway's workload name (its node id's and its WorkloadEntry's). */
export const GATEWAY_WORKLOAD = "istio-ingressgateway";

export const GATEWAY_LABELS = { app: "istio-ingressgateway", istio: "ingressgateway" } as const;
/** Istio's ingress gateway's ServiceAccount (here in namespace default, as its node id says). */
export const GATEWAY_SERVICE_ACCOUNT = "istio-ingressgateway-service-account";

/**
 * One WorkloadEntry per workload, at its sidecar's address, labelled app, version and its own labels, and meshed
 * (`security.istio.io/tlsMode: istio`, as the injector labels pods: other sidecars send it mTLS) with its
 * ServiceAccount; and one for the gateway (named as its node id names it), so that a Gateway configures it only when
 * its selector matches.
 */
export function workloadEntries(l: LocalLayout): string {
  const gateway = {
    name: GATEWAY_WORKLOAD,
    spec: { address: l.gateway.ip, labels: GATEWAY_LABELS, serviceAccount: GATEWAY_SERVICE_ACCOUNT },
  };
  return [
    ...l.workloads.map((w) => ({
      name: workloadName(w),
      spec: {
        address: w.ip,
        ports: { [portName(w.protocol)]: w.port },
        labels: { ...w.labels, app: w.app, version: w.version, [TLS_MODE_LABEL]: "istio" },
        serviceAccount: w.serviceAccount,
      },
    })),
    gateway,
  ]
    .map(({ name, spec }) =>
      stringify({ apiVersion: "networking.istio.io/v1", kind: "WorkloadEntry", metadata: { name }, spec }),
    )
    .join("---\n");
}

/** Istio's bookinfo-gateway.yaml with the gateway's port. */
export function gatewayYaml(istioFile: string, port: number): string {
  return istioFile.replace(/number: 8080/g, `number: ${port}`);
}
