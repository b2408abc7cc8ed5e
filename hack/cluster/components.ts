// The daemons of the process cluster, in start order, each with its readiness probe.
import { request } from "node:https";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";
import { KUBECONFIG, POD_CIDR, PORTS, SERVER, SERVICE_CIDR, path } from "./layout.js";
import { caPem, files } from "./secrets.js";
import type { Daemon } from "./proc.js";

export interface Component extends Daemon {
  ready(): Promise<boolean>;
}

const token = () => readFileSync(files.tokens, "utf8").split(",")[0] ?? "";

function get(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const send = u.protocol === "https:" ? request : httpRequest;
    const req = send(
      url,
      {
        timeout: 2000,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

export const okAt = async (url: string, opts?: Parameters<typeof get>[1]) => {
  try {
    return (await get(url, opts)).status === 200;
  } catch {
    return false;
  }
};

/** What kube-controller-manager and kube-scheduler share: the admin kubeconfig, a loopback HTTPS port, no leader election. */
const controllerFlags = (name: string, port: number) => [
  `--kubeconfig=${KUBECONFIG}`,
  `--authentication-kubeconfig=${KUBECONFIG}`,
  `--authorization-kubeconfig=${KUBECONFIG}`,
  "--bind-address=127.0.0.1",
  `--secure-port=${port}`,
  `--cert-dir=${path(name)}`,
  "--leader-elect=false",
  // Thousands of pods at once (bench:scale): the default client limit (20 requests/s) would take minutes.
  "--kube-api-qps=300",
  "--kube-api-burst=600",
];

export function components(bin: string): Component[] {
  const local = "127.0.0.1";
  return [
    {
      name: "etcd",
      bin: `${bin}/etcd`,
      args: [
        "--name=weft",
        `--data-dir=${path("etcd")}`,
        `--listen-client-urls=http://${local}:${PORTS.etcdClient}`,
        `--advertise-client-urls=http://${local}:${PORTS.etcdClient}`,
        `--listen-peer-urls=http://${local}:${PORTS.etcdPeer}`,
        `--initial-advertise-peer-urls=http://${local}:${PORTS.etcdPeer}`,
        `--initial-cluster=weft=http://${local}:${PORTS.etcdPeer}`,
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=1073741824",
        "--log-level=warn",
      ],
      ready: () => okAt(`http://${local}:${PORTS.etcdClient}/health`),
    },
    {
      name: "kube-apiserver",
      bin: `${bin}/kube-apiserver`,
      args: [
        `--etcd-servers=http://${local}:${PORTS.etcdClient}`,
        `--bind-address=${local}`,
        `--advertise-address=${local}`,
        `--secure-port=${PORTS.apiserver}`,
        `--cert-dir=${path("apiserver")}`,
        `--tls-cert-file=${files.serverCert}`,
        `--tls-private-key-file=${files.serverKey}`,
        `--client-ca-file=${files.caCert}`,
        `--token-auth-file=${files.tokens}`,
        "--authorization-mode=RBAC",
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--service-account-issuer=${SERVER}/`,
        `--service-account-key-file=${files.saPub}`,
        `--service-account-signing-key-file=${files.saKey}`,
        "--allow-privileged=true",
        // Pods go to the KWOK nodes unless their namespace asks for the real node (DEFAULT_NODE_SELECTOR).
        "--enable-admission-plugins=PodNodeSelector",
        `--admission-control-config-file=${files.admission}`,
        `--kubelet-client-certificate=${files.kubeletClientCert}`,
        `--kubelet-client-key=${files.kubeletClientKey}`,
        `--kubelet-certificate-authority=${files.caCert}`,
        "--kubelet-preferred-address-types=InternalIP",
        // The default reconciler would publish 127.0.0.1 as the kubernetes Service's
        // endpoint, which Endpoints validation rejects (loopback), every 10 s.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=1",
      ],
      ready: () => okAt(`${SERVER}/readyz`, { ca: caPem(), token: token() }),
    },
    {
      name: "kube-controller-manager",
      bin: `${bin}/kube-controller-manager`,
      args: [
        ...controllerFlags("controller-manager", PORTS.controllerManager),
        `--service-account-private-key-file=${files.saKey}`,
        `--root-ca-file=${files.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route,-persistentvolume-binder,-attachdetach",
        "--concurrent-deployment-syncs=10",
        "--v=1",
      ],
      ready: () => okAt(`https://${local}:${PORTS.controllerManager}/healthz`, { insecure: true }),
    },
    {
      name: "kube-scheduler",
      bin: `${bin}/kube-scheduler`,
      args: [...controllerFlags("scheduler", PORTS.scheduler), "--v=1"],
      ready: () => okAt(`https://${local}:${PORTS.scheduler}/healthz`, { insecure: true }),
    },
    {
      name: "kwok",
      bin: `${bin}/kwok`,
      args: [
        `--kubeconfig=${KUBECONFIG}`,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        `--node-ip=${local}`,
        `--cidr=${POD_CIDR}`,
        // Renew node Leases as a kubelet does; without them node-lifecycle marks the nodes
        // Unknown after its grace period and flips every pod's Ready condition to False.
        "--node-lease-duration-seconds=40",
        `--server-address=${local}:${PORTS.kwok}`,
      ],
      ready: () => okAt(`http://${local}:${PORTS.kwok}/healthz`),
    },
  ];
}
