// How the CLI reaches weftd's :15014. Local mode, or any reachable weftd: --discovery-address host:port. In a
// cluster: every weftd pod through the API server's pod proxy (/api/v1/namespaces/NS/pods/POD:15014/proxy/...),
// so no port-forward and no network path to the pods are needed; the user needs `get pods/proxy` in that namespace.
import { request as httpsRequest } from "node:https";
import { request as httpRequest, type RequestOptions } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { DISCOVERY } from "../../install/labels.js";

export const MONITORING_PORT = 15014;

/** A GET that resolves with the body of a 2xx answer, and rejects with one line naming the URL otherwise. */
export function getText(url: string, options: RequestOptions = {}, timeoutMs = 10_000): Promise<string> {
  return send("GET", url, options, undefined, timeoutMs);
}

/** A request (body optional) that resolves with the body of a 2xx answer; else rejects with one line. */
export function send(
  method: string,
  url: string,
  options: RequestOptions = {},
  body?: { type: string; text: string },
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = { ...options.headers, ...(body ? { "content-type": body.type } : {}) };
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(
      u,
      { ...options, headers, method, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > 64 * 1024 * 1024) req.destroy(new Error(`${u.pathname}: answer larger than 64 MiB`));
          else chunks.push(c);
        });
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve(body);
          else reject(new Error(`${method} ${u.pathname}: ${res.statusCode ?? "?"} ${firstLine(body)}`));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs / 1000}s`)));
    req.on("error", (err) => reject(new Error(`${method} ${url}: ${err.message}`)));
    req.end(body?.text);
  });
}

const firstLine = (body: string): string => {
  try {
    const m = (JSON.parse(body) as { message?: string }).message;
    if (m) return m;
  } catch {
    // not JSON
  }
  return body.split("\n")[0]?.slice(0, 200) ?? "";
};

export async function getJson<T>(url: string, options?: RequestOptions): Promise<T> {
  const text = await getText(url, options);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`GET ${new URL(url).pathname}: the answer is not JSON`);
  }
}

/** `http://host:port` for an address given as host:port (or a URL as given). */
export function baseUrl(address: string): string {
  if (/^https?:\/\//.test(address)) return address.replace(/\/$/, "");
  if (!/^[^\s/]+:\d+$/.test(address)) throw new Error(`--discovery-address "${address}": want host:port`);
  return `http://${address}`;
}

/** The API server's request options for this kubeconfig (TLS, credentials). */
export async function apiOptions(kc: KubeConfig): Promise<RequestOptions> {
  const o: RequestOptions = {};
  await kc.applyToHTTPSOptions(o);
  return o;
}

export interface DiscoveryPod {
  name: string;
  namespace: string;
}

/** The weftd pods of a mesh namespace that are running. */
export async function discoveryPods(kc: KubeConfig, namespace: string): Promise<DiscoveryPod[]> {
  const server = kc.getCurrentCluster()?.server ?? "";
  const selector = encodeURIComponent(`app=${DISCOVERY}`);
  const list = await getJson<{
    items: { metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string } }[];
  }>(
    `${server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${selector}`,
    await apiOptions(kc),
  );
  return list.items.filter((p) => p.status?.phase === "Running").map((p) => ({ name: p.metadata.name, namespace }));
}

/** GET a :15014 path of one weftd pod through the API server's pod proxy. */
export async function viaPodProxy<T>(kc: KubeConfig, pod: DiscoveryPod, path: string): Promise<T> {
  const server = kc.getCurrentCluster()?.server ?? "";
  const url = `${server}/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}:${MONITORING_PORT}/proxy${path}`;
  return getJson<T>(url, await apiOptions(kc));
}

export interface ReachFlags {
  kubeconfig: string | undefined;
  namespace: string;
  "discovery-address": string | undefined;
}

/**
 * One answer per weftd: from --discovery-address, or from every running weftd pod in --namespace. `cluster` is
 * istioctl's CLUSTER column: "Kubernetes" (Istio's default cluster id) in a cluster, "local" for an address.
 */
export async function discoveryResponses<T>(v: ReachFlags, path: string): Promise<{ responses: T[]; cluster: string }> {
  const address = v["discovery-address"];
  if (address) return { responses: [await getJson<T>(`${baseUrl(address)}${path}`)], cluster: "local" };
  const { loadKubeConfig } = await import("../../runtime/kube.js");
  const kc = loadKubeConfig(v.kubeconfig);
  const pods = await discoveryPods(kc, v.namespace);
  if (pods.length === 0)
    throw new Error(
      `no running weftd pod in namespace ${v.namespace}: pass -n <the mesh's namespace>, or --discovery-address host:15014`,
    );
  const responses = await Promise.all(
    pods.map((p) =>
      viaPodProxy<T>(kc, p, path).catch((err: unknown) => {
        throw new Error(
          `weftd pod ${p.namespace}/${p.name} through the API server: ${(err as Error).message} (or pass --discovery-address host:15014)`,
        );
      }),
    ),
  );
  return { responses, cluster: "Kubernetes" };
}
