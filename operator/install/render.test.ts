import type { KubernetesObject } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../hack/paths.js";
import { normalizeSpec } from "../api/spec.js";
import { render } from "./render.js";
import { parseMeshConfig } from "../discovery/model/mesh.js";

const ctx = { name: "default", uid: "uid-1", ca: { certPem: "CERT", keyPem: "KEY" } };
type Any = KubernetesObject & Record<string, unknown>;
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const find = (objs: KubernetesObject[], kind: string, name?: string) =>
  objs.find((o) => o.kind === kind && (!name || o.metadata?.name === name)) as Any;

describe("render", () => {
  const spec = normalizeSpec({
    version: "0.1.0",
    hub: "registry.example.com/weft",
    namespace: "mesh-a",
    discovery: { replicas: 2 },
  });
  const { namespace, objects } = render(spec, ctx);

  it("applies the ConfigMaps first: a meshConfig edit reaches discovery without waiting for the rest", () => {
    expect(objects.slice(0, 2).map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      "ConfigMap/weft-mesh",
      "ConfigMap/weft-sidecar-injector",
    ]);
  });

  it("lets weftd read Secrets cluster-wide (gateways' credentialName, as istiod's ClusterRole), never write them", () => {
    const rules = find(objects, "ClusterRole").rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const secrets = rules.filter((r) => r.apiGroups.includes("") && r.resources.includes("secrets"));
    expect(secrets.map((r) => r.verbs)).toEqual([["get", "list", "watch"]]);
  });

  it("lets weftd create SubjectAccessReviews (a gateway's Secrets only if its ServiceAccount may list them, as istiod)", () => {
    const rules = find(objects, "ClusterRole").rules as Rule[];
    expect(rules.filter((r) => r.resources.includes("subjectaccessreviews"))).toEqual([
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ]);
  });

  it("grants weftd nothing the operator of operator/deploy/rbac.yaml doesn't hold (Kubernetes refuses escalation)", () => {
    const deploy = parse(readFileSync(join(REPO_ROOT, "operator/deploy/rbac.yaml"), "utf8").split(/^---$/m)[1] ?? "");
    const held = (deploy as { rules: Rule[] }).rules;
    const holds = (group: string, resource: string, verb: string) =>
      held.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    const granted = objects
      .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
      .flatMap((o) => (o as Any).rules as Rule[]);
    const missing = granted.flatMap((r) =>
      r.apiGroups.flatMap((g) =>
        r.resources.flatMap((res) => r.verbs.filter((v) => !holds(g, res, v)).map((v) => `${g}/${res} ${v}`)),
      ),
    );
    expect(missing).toEqual([]);
  });

  it("is pure: the same spec renders the same objects", () => {
    expect(render(spec, ctx)).toEqual(render(spec, ctx));
  });

  it("renders the whole control plane into the spec's namespace", () => {
    expect(namespace.metadata?.name).toBe("mesh-a");
    const kinds = objects.map((o) => o.kind);
    for (const k of [
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "Secret",
      "ConfigMap",
      "Service",
      "Deployment",
      "MutatingWebhookConfiguration",
      "ValidatingWebhookConfiguration",
    ]) {
      expect(kinds).toContain(k);
    }
    for (const o of objects.filter(
      (o) => !o.kind?.startsWith("Cluster") && !o.kind?.endsWith("WebhookConfiguration"),
    )) {
      expect(o.metadata?.namespace).toBe("mesh-a");
    }
  });

  it("owns every object through a controller owner reference and the mesh label", () => {
    for (const o of objects) {
      expect(o.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "weft.dev/v1alpha1",
          kind: "MeshInstallation",
          name: "default",
          uid: "uid-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o.metadata?.labels?.["weft.dev/mesh"]).toBe("default");
    }
  });

  it("runs weftd from <hub>/weft:<version> with args discovery", () => {
    const d = find(objects, "Deployment", "weftd") as unknown as {
      spec: {
        replicas: number;
        template: {
          metadata: { labels: Record<string, string> };
          spec: { containers: { image: string; args: string[] }[] };
        };
      };
    };
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0]?.image).toBe("registry.example.com/weft/weft:0.1.0");
    expect(d.spec.template.spec.containers[0]?.args[0]).toBe("discovery");
    expect(d.spec.template.spec.containers[0]?.args.slice(-2)).toEqual(["--mesh", "default"]); // labels its proxy report
    expect(d.spec.template.metadata.labels["app.kubernetes.io/version"]).toBe("0.1.0");
  });

  it("raises weftd's --workload-cert-ttl only for a mesh-wide SECRET_TTL over its 24h, so none is cut short", () => {
    const args = (SECRET_TTL?: string) => {
      const s = normalizeSpec({ meshConfig: { defaultConfig: { proxyMetadata: { SECRET_TTL } } } });
      const d = find(render(s, ctx).objects, "Deployment", "weftd") as unknown as {
        spec: { template: { spec: { containers: { args: string[] }[] } } };
      };
      return d.spec.template.spec.containers[0]!.args;
    };
    expect(args("48h").slice(-2)).toEqual(["--workload-cert-ttl", "48h"]);
    expect(args("12h")).not.toContain("--workload-cert-ttl");
    expect(args()).not.toContain("--workload-cert-ttl");
  });

  it("renders gatewayTopology's numTrustedProxies and forwardClientCertDetails into the mesh config discovery reads (and nothing when unset)", () => {
    const mesh = (gatewayTopology?: { numTrustedProxies?: number; forwardClientCertDetails?: "APPEND_FORWARD" }) => {
      const s = normalizeSpec({
        meshConfig: { defaultConfig: { proxyMetadata: {}, ...(gatewayTopology ? { gatewayTopology } : {}) } },
      });
      const cm = find(render(s, ctx).objects, "ConfigMap", "weft-mesh") as unknown as { data: { mesh: string } };
      return parseMeshConfig(cm.data.mesh);
    };
    expect(mesh({ numTrustedProxies: 2 }).numTrustedProxies).toBe(2);
    expect(mesh({ forwardClientCertDetails: "APPEND_FORWARD" }).gatewayForwardClientCert).toBe("APPEND_FORWARD");
    expect(mesh()).toMatchObject({ numTrustedProxies: 0, gatewayForwardClientCert: "SANITIZE_SET" });
  });

  it("passes proxyHeaders to the mesh config discovery reads, as written (and nothing when unset)", () => {
    const rendered = (proxyHeaders?: object) => {
      const s = normalizeSpec({
        meshConfig: { defaultConfig: { proxyMetadata: {}, ...(proxyHeaders ? { proxyHeaders } : {}) } },
      });
      const cm = find(render(s, ctx).objects, "ConfigMap", "weft-mesh") as unknown as { data: { mesh: string } };
      return cm.data.mesh;
    };
    const m = parseMeshConfig(
      rendered({ server: { value: "shop" }, requestId: { disabled: true }, forwardedClientCert: "SANITIZE_SET" }),
    );
    expect(m.proxyHeaders).toMatchObject({
      serverName: "shop",
      requestIdDisabled: true,
      forwardedClientCert: "SANITIZE_SET",
    });
    expect(rendered()).not.toContain("proxyHeaders");
    expect(rendered({})).not.toContain("proxyHeaders");
  });

  it("exposes weftd's xDS, monitoring and webhook ports, 443 → 15017", () => {
    const svc = find(objects, "Service", "weftd") as unknown as {
      spec: { ports: { port: number; targetPort: number }[] };
    };
    expect(svc.spec.ports.map((p) => [p.port, p.targetPort])).toEqual([
      [15010, 15010],
      [15012, 15012],
      [15014, 15014],
      [443, 15017],
    ]);
  });

  it("writes Istio-shaped injector values: hub, tag, image and binaryPath", () => {
    const cm = find(objects, "ConfigMap", "weft-sidecar-injector") as unknown as {
      data: { values: string; config: string };
    };
    const values = JSON.parse(cm.data.values);
    expect(values.global.hub).toBe("registry.example.com/weft");
    expect(values.global.tag).toBe("0.1.0");
    expect(values.global.proxy.image).toBe("registry.example.com/weft/weft:0.1.0");
    expect(values.global.proxy.binaryPath).toBe("/usr/local/bin/weft-engine");
    expect(parse(cm.data.config).policy).toBe("enabled");
  });

  it("uses a whole proxy image as given, and a proxy tag over the version", () => {
    const values = (s: object) =>
      JSON.parse(
        (
          find(render(normalizeSpec(s), ctx).objects, "ConfigMap", "weft-sidecar-injector") as unknown as {
            data: { values: string };
          }
        ).data.values,
      );
    expect(values({ proxy: { image: "docker.io/me/engine:7" } }).global.proxy.image).toBe("docker.io/me/engine:7");
    expect(values({ version: "0.1.0", proxy: { tag: "0.1.0-debug" } }).global.proxy.image).toBe(
      "ghcr.io/weft-mesh/weft:0.1.0-debug",
    );
  });

  it("carries the CA in the webhooks' caBundle and in the CA secret", () => {
    const bundle = Buffer.from("CERT").toString("base64");
    const mutating = find(objects, "MutatingWebhookConfiguration") as unknown as {
      webhooks: { clientConfig: { caBundle: string; service: { namespace: string } } }[];
    };
    const validating = find(objects, "ValidatingWebhookConfiguration") as unknown as {
      webhooks: { clientConfig: { caBundle: string } }[];
    };
    for (const w of [...mutating.webhooks, ...validating.webhooks]) expect(w.clientConfig.caBundle).toBe(bundle);
    expect(mutating.webhooks[0]?.clientConfig.service.namespace).toBe("mesh-a");
    expect((find(objects, "Secret") as unknown as { data: Record<string, string> }).data["ca-cert.pem"]).toBe(bundle);
  });

  it("injects for istio-injection=enabled only while honorIstioLabel is on", () => {
    const selectors = (s: object) =>
      (
        find(render(normalizeSpec(s), ctx).objects, "MutatingWebhookConfiguration") as unknown as {
          webhooks: { namespaceSelector: { matchLabels: Record<string, string> } }[];
        }
      ).webhooks.map((w) => w.namespaceSelector.matchLabels);
    expect(selectors({})).toEqual([{ "weft-injection": "enabled" }, { "istio-injection": "enabled" }]);
    expect(selectors({ injection: { honorIstioLabel: false } })).toEqual([{ "weft-injection": "enabled" }]);
  });

  it("names cluster-scoped objects after the mesh, so two meshes never collide", () => {
    const other = render(normalizeSpec({ namespace: "mesh-b" }), { ...ctx, name: "other" }).objects;
    const clusterNames = (objs: KubernetesObject[]) =>
      objs.filter((o) => !o.metadata?.namespace).map((o) => `${o.kind}/${o.metadata?.name}`);
    const shared = clusterNames(objects).filter((n) => clusterNames(other).includes(n));
    expect(shared).toEqual([]);
  });
});
