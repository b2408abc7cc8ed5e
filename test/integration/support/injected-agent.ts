// An injected pod's weft-proxy, run as a process: KWOK pods don't run, so the test runs what the pod would run —
// the container's args and env (fieldRefs resolved from the pod), its projected token from TokenRequest with the
// volume's audience and expiry, and its istio-ca-root-cert mount from the ConfigMap — with weftd's Service address
// pointed at the local discovery process (the certificate is still checked against the Service's name).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../../hack/paths.js";
import { DEFAULT_ROOT_CERT, DEFAULT_TOKEN_FILE, ROOT_CERT_CONFIGMAP } from "../../../operator/api/roles.js";
import { AgentProcess } from "../../support/agent-process.js";
import { getJson, kube } from "./kubectl.js";

export interface InjectedPod {
  metadata: { name: string; namespace: string };
  spec: {
    serviceAccountName: string;
    containers: {
      name: string;
      args?: string[];
      env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      volumeMounts?: { name: string; mountPath: string }[];
    }[];
    volumes?: {
      name: string;
      projected?: {
        sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[];
      };
      configMap?: { name: string };
    }[];
  };
}

/** The projected volume with a token for the mesh CA (not the API server's kube-api-access-*). */
function caTokenVolume(pod: InjectedPod) {
  const volume = pod.spec.volumes?.find((v) =>
    v.projected?.sources.some((s) => s.serviceAccountToken?.audience === "istio-ca"),
  );
  const source = volume?.projected?.sources.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  if (!volume || !source) throw new Error("the pod has no projected ServiceAccount token for audience istio-ca");
  return { name: volume.name, source };
}

/** The projected token as the kubelet would request it: the volume's audience and expiry, bound to the pod. */
export async function podToken(pod: InjectedPod): Promise<string> {
  const src = caTokenVolume(pod).source;
  const args = ["create", "token", pod.spec.serviceAccountName, "-n", pod.metadata.namespace];
  const bound = ["--bound-object-kind", "Pod", "--bound-object-name", pod.metadata.name];
  return (await kube([...args, ...bound, `--audience=${src.audience}`, `--duration=${src.expirationSeconds}s`])).trim();
}

export interface RunOptions {
  /** host:port the pod's weftd address stands for. */
  localAddress: string;
  /** The token file's content (default: podToken). */
  token?: string;
  env?: Record<string, string>;
  onLog?: (line: string) => void;
}

export async function runInjectedAgent(pod: InjectedPod, o: RunOptions): Promise<AgentProcess> {
  const proxy = pod.spec.containers.find((c) => c.name === "weft-proxy");
  if (!proxy?.args) throw new Error("the pod has no weft-proxy container");
  // The agent reads Istio's paths by default: the mounts must put the files there.
  const mount = (volume: string) => proxy.volumeMounts?.find((m) => m.name === volume)?.mountPath;
  const token = caTokenVolume(pod);
  const root = pod.spec.volumes?.find((v) => v.configMap?.name === ROOT_CERT_CONFIGMAP);
  const paths = {
    token: `${mount(token.name)}/${token.source.path}`,
    root: `${mount(root?.name ?? "")}/root-cert.pem`,
  };
  if (paths.token !== DEFAULT_TOKEN_FILE || paths.root !== DEFAULT_ROOT_CERT)
    throw new Error(
      `the pod mounts ${JSON.stringify(paths)}, the agent reads ${DEFAULT_TOKEN_FILE}, ${DEFAULT_ROOT_CERT}`,
    );
  const dir = mkdtempSync(join(tmpdir(), "weft-pod-"));
  // The mounted files, at the paths relative to the mounts, as the kubelet would write them.
  const tokenFile = join(dir, "istio-token");
  writeFileSync(tokenFile, o.token ?? (await podToken(pod)));
  const cm = await getJson<{ data: Record<string, string> }>([
    "get",
    "configmap",
    ROOT_CERT_CONFIGMAP,
    "-n",
    pod.metadata.namespace,
  ]);
  const rootFile = join(dir, "root-cert.pem");
  writeFileSync(rootFile, cm.data["root-cert.pem"] ?? "");
  const field = (path: string): string | undefined =>
    ({
      "metadata.name": pod.metadata.name,
      "metadata.namespace": pod.metadata.namespace,
      "spec.serviceAccountName": pod.spec.serviceAccountName,
    })[path];
  let serviceHost = "";
  const env: Record<string, string> = {};
  for (const e of proxy.env ?? []) {
    const v = e.value ?? (e.valueFrom?.fieldRef ? field(e.valueFrom.fieldRef.fieldPath) : undefined);
    if (v === undefined) continue; // status.podIP: the process binds loopback instead (its node id)
    if (e.name === "CA_ADDR" || e.name === "DISCOVERY_ADDRESS") {
      serviceHost = v.slice(0, v.lastIndexOf(":"));
      env[e.name] = o.localAddress;
    } else env[e.name] = v;
  }
  const args = proxy.args.slice(1); // after `proxy`
  const at = args.indexOf("--discovery-address");
  if (at >= 0) {
    serviceHost = args[at + 1]!.slice(0, args[at + 1]!.lastIndexOf(":"));
    args[at + 1] = o.localAddress;
  }
  const ns = pod.metadata.namespace;
  return AgentProcess.start({
    discoveryAddress: o.localAddress,
    nodeId: `sidecar~127.0.0.1~${pod.metadata.name}.${ns}~${ns}.svc.cluster.local`,
    binaryPath: `${REPO_ROOT}/dist/proxy/engine/child.js`,
    engineVersion: "0.0.0-test",
    enginesDir: join(dir, "engines"),
    args: [
      ...args,
      // What differs from the pod: no capture on this host, this build's engine, the mounts' files.
      ...["--interception-mode", "NONE", "--binary-path", `${REPO_ROOT}/dist/proxy/engine/child.js`],
      ...["--ca-server-name", serviceHost, "--token-file", tokenFile, "--root-cert", rootFile],
    ],
    env: { ...env, ...o.env },
    onLog: o.onLog,
  });
}
