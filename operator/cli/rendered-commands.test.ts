// Every container command line the operator or the injector renders, parsed by the real `weft` command table with
// the env the kubelet would give it: a flag the command doesn't know, or one it needs and doesn't get, fails here.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { parseRole, UsageError } from "../api/contract.js";
import { normalizeSpec } from "../api/spec.js";
import { parseInjectorConfigMap } from "../injector/config.js";
import { injectionPatch, type Pod } from "../injector/patch.js";
import { render } from "../install/render.js";
import { injectorConfigMap } from "../install/render-injector.js";
import { nodeIdFrom } from "../../proxy/agent/cli.js";
import { commands } from "./commands.js";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
}

/** What the kubelet puts in a container's env for a pod `reviews-v1-abc` in `shop` at 10.244.0.5. */
const FIELDS: Record<string, string> = {
  "metadata.name": "reviews-v1-abc",
  "metadata.namespace": "shop",
  "status.podIP": "10.244.0.5",
};
function envOf(c: Container): Record<string, string> {
  return Object.fromEntries(
    (c.env ?? []).map((e) => [e.name, e.value ?? FIELDS[e.valueFrom?.fieldRef?.fieldPath ?? ""] ?? ""]),
  );
}

/** Parses a container's args as `weft` would (the image's entrypoint is weft). */
function parse(c: Container) {
  const [name, ...rest] = c.args ?? [];
  const command = commands[name ?? ""];
  if (!command) throw new Error(`container ${c.name}: "${name}" is not a weft command`);
  return { role: command.role.name, values: parseRole(command.role, rest, envOf(c)) as Record<string, unknown> };
}

const spec = normalizeSpec({ hub: "registry.example.com/weft", namespace: "mesh-a" });
const containersOf = (o: { spec?: { template?: { spec?: { containers?: Container[] } } } }) =>
  o.spec?.template?.spec?.containers ?? [];

describe("every rendered command line parses with the weft command table", () => {
  it("the operator's Deployment in operator/deploy/", () => {
    const docs = parseAllDocuments(readFileSync(new URL("../deploy/operator.yaml", import.meta.url), "utf8")).map(
      (d) => d.toJS() as { kind?: string } & Parameters<typeof containersOf>[0],
    );
    const containers = docs.filter((d) => d.kind === "Deployment").flatMap((d) => containersOf(d));
    expect(containers.length).toBeGreaterThan(0);
    for (const c of containers) {
      const { role, values } = parse(c);
      expect(role).toBe("operator");
      expect(values["leader-election-namespace"]).toBe("shop"); // from POD_NAMESPACE
    }
  });

  it("weftd's Deployment, rendered by the operator", () => {
    const { objects } = render(spec, { name: "default", uid: "u", ca: { certPem: "C", keyPem: "K" } });
    const d = objects.find((o) => o.kind === "Deployment") as Parameters<typeof containersOf>[0];
    const [c] = containersOf(d);
    const { role, values } = parse(c!);
    expect(role).toBe("discovery");
    expect(values).toMatchObject({
      namespace: "mesh-a",
      mesh: "default",
      "pod-name": "reviews-v1-abc",
      "config-dir": undefined,
    });
  });

  const parsed = parseInjectorConfigMap(injectorConfigMap(spec).data);
  if (!parsed.ok) throw new Error(parsed.error);
  const inject = (pod: Pod) => {
    const ops =
      injectionPatch(
        pod,
        { namespace: "shop", namespaceLabels: { "istio-injection": "enabled" }, discoveryNamespace: "mesh-a" },
        parsed.config,
        parsed.values,
      ) ?? [];
    const added = (path: string) =>
      ops
        .filter((o) => o.path.startsWith(path))
        .flatMap((o) => (Array.isArray(o.value) ? o.value : [o.value])) as Container[];
    return { containers: added("/spec/containers"), init: added("/spec/initContainers") };
  };

  it("the injected sidecar and its weft-init container", () => {
    const { containers, init } = inject({
      metadata: { name: "reviews-v1-abc" },
      spec: { containers: [{ name: "app" }] },
    });
    const proxy = parse(containers.find((c) => c.name === "weft-proxy")!);
    expect(proxy.role).toBe("proxy");
    expect(proxy.values).toMatchObject({
      "discovery-address": "weftd.mesh-a.svc:15012",
      "interception-mode": "REDIRECT",
      "binary-path": spec.proxy.binaryPath,
    });
    expect(nodeIdFrom(proxy.values as Parameters<typeof nodeIdFrom>[0])).toBe(
      "sidecar~10.244.0.5~reviews-v1-abc.shop~shop.svc.cluster.local",
    );
    expect(init.map((c) => c.name)).toEqual(["weft-init"]);
    const i = parse(init[0]!);
    expect(i.role).toBe("init");
    expect(i.values).toMatchObject({
      "outbound-port": 15001,
      "inbound-port": 15006,
      "proxy-uid": 1337,
      "exclude-inbound-ports": "15090,15021,15020",
      "dry-run": false,
    });
  });

  it("the engine carrier beside each sidecar and gateway: weft carrier into the shared engines directory", () => {
    for (const templates of [undefined, "gateway"]) {
      const { containers } = inject({
        metadata: {
          name: "reviews-v1-abc",
          ...(templates ? { annotations: { "inject.istio.io/templates": templates } } : {}),
        },
        spec: { containers: [] },
      });
      const carrier = parse(containers.find((c) => c.name === "weft-engine-carrier")!);
      expect(carrier.role).toBe("carrier");
      expect(carrier.values).toMatchObject({
        "engines-dir": "/var/lib/weft/engines",
        path: "/usr/local/bin/weft-engine,/usr/local/lib/weft",
      });
      const proxy = parse(containers.find((c) => c.name === "weft-proxy")!);
      expect(proxy.values).toMatchObject({ "engines-dir": "/var/lib/weft/engines" });
    }
  });

  it("the gateway (inject.istio.io/templates: gateway)", () => {
    const { containers, init } = inject({
      metadata: { name: "gw-abc", annotations: { "inject.istio.io/templates": "gateway" } },
      spec: { containers: [] },
    });
    expect(init).toEqual([]);
    const gw = parse(containers[0]!);
    expect(gw.values).toMatchObject({ type: "router", "discovery-address": "weftd.mesh-a.svc:15012" });
    expect(nodeIdFrom(gw.values as Parameters<typeof nodeIdFrom>[0])).toBe(
      "router~10.244.0.5~reviews-v1-abc.shop~shop.svc.cluster.local",
    );
  });

  it("the old injector args `proxy sidecar …` are refused, as weft refused them in a pod", () => {
    expect(() => parse({ name: "weft-proxy", args: ["proxy", "sidecar", "--binary-path", "/x"] })).toThrow(UsageError);
    expect(() => parse({ name: "weft-proxy", args: ["proxy", "sidecar", "--binary-path", "/x"] })).toThrow(
      "Unexpected argument 'sidecar'",
    );
  });

  it("a template with a flag weft doesn't know fails injection, naming the flag", () => {
    const bad = {
      ...parsed.config,
      templates: {
        ...parsed.config.templates,
        sidecar: {
          ...parsed.config.templates.sidecar!,
          containers: [{ name: "weft-proxy", args: ["proxy", "--frobnicate"] }],
        },
      },
    };
    expect(() =>
      injectionPatch(
        { metadata: { name: "p" }, spec: { containers: [] } },
        { namespace: "shop", namespaceLabels: { "istio-injection": "enabled" }, discoveryNamespace: "mesh-a" },
        bad,
        parsed.values,
      ),
    ).toThrow(/template container weft-proxy .*Unknown option '--frobnicate'/);
  });
});
