import { parseRole } from "../api/contract.js";
import { proxyRole } from "../api/roles.js";
import { NODE_FLAGS_VAR, PROXY_PROCESS_ENV } from "../api/process-env.js";
import { normalizeSpec } from "../api/spec.js";
import { injectorConfigMap } from "../install/render-injector.js";
import { parseInjectorConfigMap } from "./config.js";
import type { InjectorConfig, InjectorValues } from "./config.js";
import { escapePointer, injectionPatch, resolveImage } from "./patch.js";
import type { InjectContext, PatchOp, Pod } from "./patch.js";

const spec = normalizeSpec({ version: "0.3.0", hub: "registry.example.com/weft", namespace: "mesh-a" });
function operatorConfig(policy: "Enabled" | "Disabled" = "Enabled"): {
  config: InjectorConfig;
  values: InjectorValues;
} {
  const parsed = parseInjectorConfigMap(injectorConfigMap({ ...spec, injection: { ...spec.injection, policy } }).data);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed;
}
const { config, values } = operatorConfig();
const enabled: InjectContext = {
  namespace: "shop",
  namespaceLabels: { "istio-injection": "enabled" },
  discoveryNamespace: "mesh-a",
};
const plain: InjectContext = { ...enabled, namespaceLabels: {} };

const pod = (meta: Pod["metadata"] = {}, extra: Partial<NonNullable<Pod["spec"]>> = {}): Pod => ({
  metadata: {
    generateName: "reviews-v1-7f9c-",
    ownerReferences: [{ kind: "ReplicaSet", name: "reviews-v1-7f9c" }],
    ...meta,
  },
  spec: { containers: [{ name: "app" }], ...extra },
});

/** Applies add ops the way the API server does, so tests check the pod a user sees. */
function apply(target: Pod, ops: PatchOp[]): Pod & Record<string, unknown> {
  const doc = structuredClone(target) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split("/")
      .slice(1)
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop()!;
    let node = doc as Record<string, unknown> | unknown[];
    for (const p of parts) {
      const next = (node as Record<string, unknown>)[p];
      if (next === undefined) throw new Error(`path ${op.path}: ${p} missing`);
      node = next as Record<string, unknown>;
    }
    if (Array.isArray(node)) node.push(op.value);
    else node[last] = op.value;
  }
  return doc as Pod & Record<string, unknown>;
}

interface Out {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  readinessProbe: { httpGet: { port: number } };
  resources?: unknown;
}
const proxyOf = (p: Pod) => (p.spec?.containers ?? []).find((c) => c.name === "weft-proxy") as Out | undefined;
const injected = (p: Pod, ctx = enabled, cfg = config, vals = values) => {
  const ops = injectionPatch(p, ctx, cfg, vals);
  return ops ? apply(p, ops) : undefined;
};

describe("which pods get the sidecar", () => {
  it("injects a pod in a namespace labelled istio-injection=enabled or weft-injection=enabled", () => {
    expect(injected(pod())).toBeDefined();
    expect(injected(pod(), { ...enabled, namespaceLabels: { "weft-injection": "enabled" } })).toBeDefined();
  });

  it("leaves a pod in an unlabelled or disabled namespace alone", () => {
    expect(injectionPatch(pod(), plain, config, values)).toBeUndefined();
    expect(
      injectionPatch(pod(), { ...enabled, namespaceLabels: { "istio-injection": "disabled" } }, config, values),
    ).toBeUndefined();
  });

  it.each([
    ["label", { labels: { "sidecar.istio.io/inject": "false" } }],
    ["annotation", { annotations: { "sidecar.istio.io/inject": "false" } }],
  ])("skips a pod that opts out by %s", (_by, meta) => {
    expect(injectionPatch(pod(meta), enabled, config, values)).toBeUndefined();
  });

  it("lets the label win over the annotation", () => {
    expect(
      injected(
        pod({ labels: { "sidecar.istio.io/inject": "true" }, annotations: { "sidecar.istio.io/inject": "false" } }),
      ),
    ).toBeDefined();
  });

  it("skips a pod that already has weft-proxy, is already injected, or uses the host network", () => {
    expect(
      injectionPatch(pod({}, { containers: [{ name: "app" }, { name: "weft-proxy" }] }), enabled, config, values),
    ).toBeUndefined();
    expect(
      injectionPatch(pod({ annotations: { "sidecar.istio.io/status": "{}" } }), enabled, config, values),
    ).toBeUndefined();
    expect(injectionPatch(pod({}, { hostNetwork: true }), enabled, config, values)).toBeUndefined();
  });

  it("never injects into kube-system", () => {
    expect(injectionPatch(pod(), { ...enabled, namespace: "kube-system" }, config, values)).toBeUndefined();
  });

  it("with policy disabled, injects only pods that ask for it", () => {
    const off = operatorConfig("Disabled");
    expect(off.config.policy).toBe("disabled");
    expect(injectionPatch(pod(), enabled, off.config, off.values)).toBeUndefined();
    expect(
      injected(pod({ labels: { "sidecar.istio.io/inject": "true" } }), enabled, off.config, off.values),
    ).toBeDefined();
    expect(
      injected(pod({ annotations: { "sidecar.istio.io/inject": "yes" } }), plain, off.config, off.values),
    ).toBeDefined();
  });

  it("honours neverInjectSelector and alwaysInjectSelector, but an explicit pod choice wins", () => {
    const never = {
      ...config,
      neverInjectSelector: [{ matchExpressions: [{ key: "openshift.io/build.name", operator: "Exists" as const }] }],
    };
    expect(
      injectionPatch(pod({ labels: { "openshift.io/build.name": "b1" } }), enabled, never, values),
    ).toBeUndefined();
    expect(
      injected(
        pod({ labels: { "openshift.io/build.name": "b1", "sidecar.istio.io/inject": "true" } }),
        enabled,
        never,
        values,
      ),
    ).toBeDefined();
    const always = { ...config, policy: "disabled" as const, alwaysInjectSelector: [{ matchLabels: { mesh: "yes" } }] };
    expect(injected(pod({ labels: { mesh: "yes" } }), enabled, always, values)).toBeDefined();
    expect(injectionPatch(pod({ labels: { mesh: "no" } }), enabled, always, values)).toBeUndefined();
    const notIn = {
      ...config,
      neverInjectSelector: [{ matchExpressions: [{ key: "tier", operator: "In" as const, values: ["batch"] }] }],
    };
    expect(injectionPatch(pod({ labels: { tier: "batch" } }), enabled, notIn, values)).toBeUndefined();
    expect(injected(pod({ labels: { tier: "web" } }), enabled, notIn, values)).toBeDefined();
  });
});

describe("the injected sidecar", () => {
  it("adds weft-proxy with the operator's image, binaryPath, discovery address, env, probe and resources", () => {
    const out = injected(pod({ labels: { app: "reviews", version: "v1" } }))!;
    // (This asserted ["app", "weft-proxy"]: injected pods carry the engine carrier now, tested below.)
    expect(out.spec?.containers?.map((c) => c.name)).toEqual(["app", "weft-proxy", "weft-engine-carrier"]);
    const proxy = proxyOf(out)!;
    expect(proxy.image).toBe("registry.example.com/weft/weft:0.3.0");
    // (This asserted ["proxy", "sidecar", ...]: args `weft proxy` refuses; rendered-commands.test.ts parses them now.)
    expect(proxy.args).toEqual([
      "proxy",
      "--discovery-address",
      "weftd.mesh-a.svc:15012",
      "--type",
      "sidecar",
      "--interception-mode",
      "REDIRECT",
      "--binary-path",
      spec.proxy.binaryPath,
    ]);
    const env = Object.fromEntries(proxy.env.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef.fieldPath]));
    expect(env).toMatchObject({
      POD_NAME: "metadata.name",
      POD_NAMESPACE: "metadata.namespace",
      INSTANCE_IP: "status.podIP",
      DISCOVERY_ADDRESS: "weftd.mesh-a.svc:15012",
    });
    expect(proxy.readinessProbe.httpGet.port).toBe(15021);
    expect(proxy.resources).toEqual(spec.proxy.resources);
  });

  it("adds the engine carrier on the proxy's image, sharing an emptyDir the proxy mounts read-only", () => {
    const out = injected(pod({}, { volumes: [{ name: "data" }] }))!;
    const carrier = out.spec?.containers?.find((c) => c.name === "weft-engine-carrier") as
      (Out & { volumeMounts: unknown[]; resources: { requests: Record<string, string> } }) | undefined;
    expect(carrier?.image).toBe("registry.example.com/weft/weft:0.3.0");
    expect(carrier?.args).toEqual(["carrier", "--engines-dir", "/var/lib/weft/engines"]);
    expect(carrier?.volumeMounts).toEqual([{ name: "weft-engines", mountPath: "/var/lib/weft/engines" }]);
    expect(carrier?.resources.requests).toEqual({ cpu: "10m", memory: "32Mi" });
    const proxy = proxyOf(out) as Out & { volumeMounts: unknown[] };
    expect(proxy.volumeMounts).toContainEqual({
      name: "weft-engines",
      mountPath: "/var/lib/weft/engines",
      readOnly: true,
    });
    expect(proxy.env).toContainEqual({ name: "WEFT_ENGINES_DIR", value: "/var/lib/weft/engines" });
    expect(out.spec?.volumes?.slice(0, 2)).toEqual([{ name: "data" }, { name: "weft-engines", emptyDir: {} }]);
    // A pinned proxy image pins its carrier too: both run the pod's override.
    const pinned = injected(pod({ annotations: { "sidecar.istio.io/proxyImage": "example.com/weft:9" } }))!;
    expect(pinned.spec?.containers?.find((c) => c.name === "weft-engine-carrier")).toMatchObject({
      image: "example.com/weft:9",
    });
    expect(() => injectionPatch(pod({}, { volumes: [{ name: "weft-engines" }] }), enabled, config, values)).toThrow(
      "the pod has a volume named weft-engines already",
    );
  });

  it("gives the agent its identity as Istio does: projected token (istio-ca), istio-ca-root-cert, CA_ADDR on 15012", () => {
    const out = injected(pod({}, { volumes: [{ name: "data" }] }))!;
    const proxy = proxyOf(out)! as Out & { volumeMounts: { name: string; mountPath: string }[] };
    const env = Object.fromEntries(proxy.env.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef.fieldPath]));
    expect(env).toMatchObject({
      CA_ADDR: "weftd.mesh-a.svc:15012",
      DISCOVERY_ADDRESS: "weftd.mesh-a.svc:15012",
      SERVICE_ACCOUNT: "spec.serviceAccountName",
    });
    expect(proxy.volumeMounts).toEqual([
      { name: "weft-engines", mountPath: "/var/lib/weft/engines", readOnly: true },
      { name: "istiod-ca-cert", mountPath: "/var/run/secrets/istio", readOnly: true },
      { name: "istio-token", mountPath: "/var/run/secrets/tokens", readOnly: true },
    ]);
    expect((out.spec as { volumes: unknown[] }).volumes).toEqual([
      { name: "data" },
      { name: "weft-engines", emptyDir: {} },
      {
        name: "istio-token",
        projected: {
          sources: [{ serviceAccountToken: { audience: "istio-ca", expirationSeconds: 43200, path: "istio-token" } }],
        },
      },
      { name: "istiod-ca-cert", configMap: { name: "istio-ca-root-cert" } },
    ]);
    // A pod without volumes gets the list.
    expect((injected(pod())!.spec as { volumes: { name: string }[] }).volumes.map((v) => v.name)).toEqual([
      "weft-engines",
      "istio-token",
      "istiod-ca-cert",
    ]);
  });

  it("takes env from proxy.istio.io/config proxyMetadata (SECRET_TTL), as Istio does", () => {
    const out = injected(pod({ annotations: { "proxy.istio.io/config": "proxyMetadata:\n  SECRET_TTL: 1h\n" } }))!;
    const env = proxyOf(out)!.env;
    expect(env.filter((e) => e.name === "SECRET_TTL")).toEqual([{ name: "SECRET_TTL", value: "1h" }]);
    expect(env.filter((e) => e.name === "CA_ADDR")).toEqual([{ name: "CA_ADDR", value: "weftd.mesh-a.svc:15012" }]);
  });

  it("runs the agent with a sidecar's Node flags (NODE_OPTIONS: a small young generation, one V8 helper thread)", () => {
    const env = proxyOf(injected(pod())!)!.env.filter((e) => e.name === "NODE_OPTIONS");
    expect(env).toEqual([{ name: "NODE_OPTIONS", value: PROXY_PROCESS_ENV.NODE_OPTIONS }]);
    expect(PROXY_PROCESS_ENV.NODE_OPTIONS).toContain("--max-semi-space-size=1");
  });

  it("asks the image's launcher for V8's lite mode for the agent (WEFT_NODE_FLAGS: NODE_OPTIONS can't carry it)", () => {
    const env = proxyOf(injected(pod())!)!.env.filter((e) => e.name === NODE_FLAGS_VAR);
    expect(env).toEqual([{ name: NODE_FLAGS_VAR, value: "--lite-mode --no-expose-wasm" }]);
  });

  it("keeps a custom template's own NODE_OPTIONS, once", () => {
    const sidecar = config.templates["sidecar"]!;
    const containers = sidecar.containers!.map((c) =>
      c.name === "weft-proxy"
        ? { ...c, env: [...(c.env ?? []), { name: "NODE_OPTIONS", value: "--max-old-space-size=96" }] }
        : c,
    );
    const custom = { ...config, templates: { ...config.templates, sidecar: { ...sidecar, containers } } };
    const env = proxyOf(injected(pod(), enabled, custom)!)!.env.filter((e) => e.name === "NODE_OPTIONS");
    expect(env).toEqual([{ name: "NODE_OPTIONS", value: "--max-old-space-size=96" }]);
  });

  it("takes the mesh-wide defaultConfig.proxyMetadata from the template, the pod's proxyMetadata over it", () => {
    const meshWide = normalizeSpec({
      ...spec,
      meshConfig: { ...spec.meshConfig, defaultConfig: { proxyMetadata: { SECRET_TTL: "6h" } } },
    });
    const parsed = parseInjectorConfigMap(injectorConfigMap(meshWide).data);
    if (!parsed.ok) throw new Error(parsed.error);
    const ttl = (p: Pod) =>
      proxyOf(apply(p, injectionPatch(p, enabled, parsed.config, parsed.values)!))!.env.filter(
        (e) => e.name === "SECRET_TTL",
      );
    expect(ttl(pod())).toEqual([{ name: "SECRET_TTL", value: "6h" }]);
    expect(ttl(pod({ annotations: { "proxy.istio.io/config": "proxyMetadata: {SECRET_TTL: 1h}" } }))).toEqual([
      { name: "SECRET_TTL", value: "1h" },
    ]);
  });

  it("takes sidecar.istio.io/proxyImage and proxy.istio.io/config binaryPath from the pod, as Istio and MOSN do", () => {
    const out = injected(
      pod({
        annotations: {
          "sidecar.istio.io/proxyImage": "example.com/mosn:1.0",
          "proxy.istio.io/config": "binaryPath: /usr/local/bin/mosn\n",
        },
      }),
    )!;
    const proxy = proxyOf(out)!;
    expect(proxy.image).toBe("example.com/mosn:1.0");
    expect(proxy.args).toContain("/usr/local/bin/mosn");
    expect(JSON.parse(out.metadata?.annotations?.["sidecar.istio.io/status"] ?? "{}")).toMatchObject({
      image: "example.com/mosn:1.0",
      binaryPath: "/usr/local/bin/mosn",
    });
  });

  it("runs meshConfig.defaultConfig.concurrency engine workers, or the pod's proxy.istio.io/config concurrency", () => {
    const workers = (p: Pod, cfg = config, vals = values) =>
      parseRole(proxyRole, proxyOf(injected(p, enabled, cfg, vals)!)!.args.slice(1)).concurrency;
    expect(workers(pod())).toBe(1); // unset: one worker
    expect(workers(pod({ annotations: { "proxy.istio.io/config": "concurrency: 2\n" } }))).toBe(2);
    const mesh = parseInjectorConfigMap(
      injectorConfigMap({
        ...spec,
        meshConfig: { ...spec.meshConfig, defaultConfig: { ...spec.meshConfig.defaultConfig, concurrency: 0 } },
      }).data,
    );
    if (!mesh.ok) throw new Error(mesh.error);
    expect(workers(pod(), mesh.config, mesh.values)).toBe(0); // 0: one per core, resolved by the agent
    expect(workers(pod({ annotations: { "proxy.istio.io/config": "concurrency: 1" } }), mesh.config, mesh.values)).toBe(
      1,
    );
    expect(() =>
      injectionPatch(pod({ annotations: { "proxy.istio.io/config": "concurrency: two" } }), enabled, config, values),
    ).toThrow('metadata.annotations["proxy.istio.io/config"]: concurrency: "two" is not an integer from 0 to 64');
  });

  it.each([
    ["YAML that doesn't parse", "binaryPath: [", /^metadata\.annotations\["proxy\.istio\.io\/config"\]: not YAML/],
    [
      "a field Weft doesn't implement",
      "holdApplicationUntilProxyStarts: true",
      /: holdApplicationUntilProxyStarts: not implemented by Weft/,
    ],
    ["the injector's own env in proxyMetadata", "proxyMetadata: {CA_ADDR: evil.example.com:15012}", /CA_ADDR: set by/],
  ])(
    "refuses a proxy.istio.io/config with %s, naming it (an unchanged pod would ignore it)",
    (_what, text, message) => {
      expect(() =>
        injectionPatch(pod({ annotations: { "proxy.istio.io/config": text } }), enabled, config, values),
      ).toThrow(message);
      // A pod the injector leaves alone isn't checked, as in Istio.
      expect(
        injectionPatch(pod({ annotations: { "proxy.istio.io/config": text } }), plain, config, values),
      ).toBeUndefined();
    },
  );

  it("resolves a bare image name against hub and tag; one with a / is used as given", () => {
    const vals = { global: { hub: "docker.io/weft", tag: "1.2" } };
    expect(resolveImage("proxyv2", vals)).toBe("docker.io/weft/proxyv2:1.2");
    expect(resolveImage("proxyv2:9", vals)).toBe("docker.io/weft/proxyv2:9");
    expect(resolveImage("quay.io/x/y:1", vals)).toBe("quay.io/x/y:1");
    expect(resolveImage("proxyv2", {})).toBe("proxyv2");
  });

  it("records what it injected and labels the pod for the mesh", () => {
    const out = injected(pod({ labels: { app: "reviews", version: "v1" }, annotations: { team: "a" } }))!;
    expect(JSON.parse(out.metadata?.annotations?.["sidecar.istio.io/status"] ?? "")).toEqual({
      initContainers: ["weft-init"],
      containers: ["weft-proxy", "weft-engine-carrier"],
      image: "registry.example.com/weft/weft:0.3.0",
      binaryPath: spec.proxy.binaryPath,
      templates: ["sidecar"],
      revision: "default",
    });
    expect(out.metadata?.annotations?.team).toBe("a");
    expect(out.metadata?.labels).toEqual({
      app: "reviews",
      version: "v1",
      "security.istio.io/tlsMode": "istio",
      "service.istio.io/canonical-name": "reviews",
      "service.istio.io/canonical-revision": "v1",
    });
  });

  it("builds correct paths for a pod with no labels, no annotations, even no metadata", () => {
    const out = injected(pod())!;
    expect(out.metadata?.labels).toEqual({
      "security.istio.io/tlsMode": "istio",
      "service.istio.io/canonical-name": "reviews-v1",
      "service.istio.io/canonical-revision": "latest",
    });
    expect(Object.keys(out.metadata?.annotations ?? {})).toEqual(["sidecar.istio.io/status"]);
    const bare = injected({ spec: {} })!;
    expect(bare.spec?.containers?.map((c) => c.name)).toEqual(["weft-proxy", "weft-engine-carrier"]);
    expect((bare.spec?.volumes ?? []).map((v) => v.name)).toEqual(["weft-engines", "istio-token", "istiod-ca-cert"]);
    expect(bare.metadata?.labels?.["security.istio.io/tlsMode"]).toBe("istio");
  });

  it("escapes / and ~ in keys it adds to existing maps, and keeps the user's canonical labels", () => {
    const ops = injectionPatch(
      pod({ labels: { "service.istio.io/canonical-name": "mine" }, annotations: {} }),
      enabled,
      { ...config, injectedAnnotations: { "a~b/c": "1" } },
      values,
    )!;
    expect(ops.map((o) => o.path)).toEqual([
      "/spec/initContainers",
      "/spec/containers/-",
      "/spec/containers/-",
      "/spec/volumes",
      "/metadata/annotations/a~0b~1c",
      "/metadata/annotations/sidecar.istio.io~1status",
      "/metadata/labels/security.istio.io~1tlsMode",
      "/metadata/labels/service.istio.io~1canonical-revision",
    ]);
    expect(escapePointer("x/y~z")).toBe("x~1y~0z");
  });

  it("names the workload from a bare pod's name when it has no owner", () => {
    const out = injected({ metadata: { name: "debug" }, spec: { containers: [{ name: "app" }] } })!;
    expect(out.metadata?.labels?.["service.istio.io/canonical-name"]).toBe("debug");
  });
});
