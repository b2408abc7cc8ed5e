// `weft proxy-config`: finds the proxy among those connected to weftd (proxy-status), reads its own /config_dump
// and prints a table or the resources. The proxy's own dump, not what discovery sent: after a NACK the proxy runs
// its last good config, and that is what a user debugging traffic needs to see (proxy-status shows the NACK).
// The admin port never leaves loopback: in local mode each sidecar's admin binds its own loopback IP, so the CLI
// dials it; in a cluster it is reached by a port-forward to the pod, as istioctl does.
import { createServer, type AddressInfo, type Server } from "node:net";
import { stringify } from "yaml";
import type { Values } from "../api/contract.js";
import type { ConfigType, proxyConfigRole } from "../api/tool-roles.js";
import { PROXY_STATUS_PATH, type ProxyStatusResponse, type SynczProxy } from "../discovery/ads/syncz.js";
import { parseNodeId } from "../discovery/translate/proxy.js";
import { isLoopbackAddress } from "../../proxy/engine/admin-guard.js";
import { configResources, configTable, type ConfigDump } from "./tools/proxy-config.js";
import { proxyName } from "./tools/proxy-status.js";
import { baseUrl, discoveryResponses, getJson } from "./tools/reach.js";

type Flags = Values<typeof proxyConfigRole>;

/** The connected proxy named by `<pod>.<namespace>`, `<pod>` (namespace default) or its node id. */
export function findProxy(responses: readonly ProxyStatusResponse[], wanted: string): SynczProxy {
  const all = responses.flatMap((r) => r.proxies);
  const name = wanted.includes(".") || wanted.includes("~") ? wanted : `${wanted}.default`;
  const found = all.filter((p) => p.node === wanted || proxyName(p.node) === name);
  if (found.length === 1) return found[0]!;
  const known = all.map((p) => proxyName(p.node)).sort();
  if (found.length > 1) throw new Error(`${wanted} names ${found.length} proxies: pass its node id`);
  throw new Error(
    `no connected proxy ${wanted}${known.length ? ` (connected: ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", ..." : ""})` : " (none is connected)"}`,
  );
}

export async function runProxyConfig(v: Flags): Promise<number> {
  const type = (v.type ?? "all") as ConfigType; // parseRole checked the choice
  let admin = v["admin-address"];
  let forward: Server | undefined;
  if (!admin) {
    const { responses } = await discoveryResponses<ProxyStatusResponse>(v, PROXY_STATUS_PATH);
    const proxy = findProxy(responses, v.pod);
    const id = parseNodeId(proxy.node);
    if (isLoopbackAddress(id.ip)) admin = `${id.ip}:${v["admin-port"]}`;
    else {
      forward = await portForward(v, id.namespace, id.workloadName, v["admin-port"]);
      admin = `127.0.0.1:${(forward.address() as AddressInfo).port}`;
    }
  }
  try {
    const dump = await getJson<ConfigDump>(`${baseUrl(admin)}/config_dump`);
    if (v.output === "json") process.stdout.write(`${JSON.stringify(configResources(dump, type), null, 2)}\n`);
    else if (v.output === "yaml") process.stdout.write(stringify(configResources(dump, type)));
    else process.stdout.write(configTable(dump, type));
    return 0;
  } finally {
    forward?.close();
  }
}

/** A local port forwarded to the pod's port through the API server (pods/portforward), as kubectl port-forward. */
async function portForward(v: Flags, namespace: string, pod: string, port: number): Promise<Server> {
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const { PortForward } = await import("@kubernetes/client-node");
  const pf = new PortForward(loadKubeConfig(v.kubeconfig));
  const server = createServer((socket) => {
    pf.portForward(namespace, pod, [port], socket, null, socket).catch((err: unknown) => socket.destroy(err as Error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return server;
}
