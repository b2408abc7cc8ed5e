// PeerAuthentication precedence and inheritance, table-driven, as istiod composes it (pilot/pkg/security/authn
// ComposePeerAuthentication) and as Istio's documentation explains it: mesh (root namespace), namespace, workload,
// port; UNSET inherits; the oldest policy of a level wins. Istio's documented YAML examples are among the cases.
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { normalise } from "../model/normalise.js";
import { parseMeshConfig } from "../model/mesh.js";
import { portMode, workloadMtls, type MtlsMode } from "./peer-authentication.js";

/** A PeerAuthentication (spec as a YAML flow mapping) in `ns`, created at minute `at` when given. */
const pa = (name: string, ns: string, spec: string, at?: number) =>
  `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: ${name}, namespace: ${ns}${
    at === undefined ? "" : `, creationTimestamp: "2026-01-01T00:${String(at).padStart(2, "0")}:00Z"`
  } }\nspec: ${spec}\n---\n`;

const FINANCE = { app: "finance" };
const OTHER = { app: "other" };

interface Case {
  name: string;
  policies: string;
  /** meshConfig.mtls.mode (unset: PERMISSIVE). */
  mesh?: MtlsMode;
  ns?: string;
  labels?: Record<string, string>;
  /** Expected mode per port (0: a port no policy names). */
  want: Record<number, MtlsMode>;
}

const cases: Case[] = [
  { name: "no policy: PERMISSIVE (Istio's default)", policies: "", want: { 0: "PERMISSIVE" } },
  { name: "no policy: meshConfig.mtls.mode STRICT", policies: "", mesh: "STRICT", want: { 0: "STRICT" } },
  { name: "no policy: meshConfig.mtls.mode DISABLE", policies: "", mesh: "DISABLE", want: { 0: "DISABLE" } },
  {
    name: "mesh-wide STRICT in the root namespace (Istio's example)",
    policies: pa("default", "istio-system", "{ mtls: { mode: STRICT } }"),
    want: { 0: "STRICT" },
  },
  {
    name: "the mesh-wide policy overrides meshConfig",
    policies: pa("default", "istio-system", "{ mtls: { mode: PERMISSIVE } }"),
    mesh: "STRICT",
    want: { 0: "PERMISSIVE" },
  },
  {
    name: "mesh-wide UNSET inherits meshConfig",
    policies: pa("default", "istio-system", "{ mtls: { mode: UNSET } }"),
    mesh: "STRICT",
    want: { 0: "STRICT" },
  },
  {
    name: "namespace PERMISSIVE overrides mesh STRICT",
    policies:
      pa("default", "istio-system", "{ mtls: { mode: STRICT } }") +
      pa("default", "foo", "{ mtls: { mode: PERMISSIVE } }"),
    want: { 0: "PERMISSIVE" },
  },
  {
    name: "another namespace's policy doesn't apply",
    policies:
      pa("default", "istio-system", "{ mtls: { mode: STRICT } }") + pa("default", "bar", "{ mtls: { mode: DISABLE } }"),
    want: { 0: "STRICT" },
  },
  {
    name: "namespace UNSET (no mtls) inherits the mesh",
    policies: pa("default", "istio-system", "{ mtls: { mode: STRICT } }") + pa("default", "foo", "{}"),
    want: { 0: "STRICT" },
  },
  {
    name: "workload STRICT overrides namespace PERMISSIVE",
    policies:
      pa("default", "foo", "{ mtls: { mode: PERMISSIVE } }") +
      pa("finance", "foo", "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT } }"),
    want: { 0: "STRICT" },
  },
  {
    name: "a workload policy whose selector doesn't match: the namespace's",
    policies:
      pa("default", "foo", "{ mtls: { mode: PERMISSIVE } }") +
      pa("finance", "foo", "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT } }"),
    labels: OTHER,
    want: { 0: "PERMISSIVE" },
  },
  {
    name: "a selector policy in the root namespace applies to no other namespace",
    policies: pa("finance", "istio-system", "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT } }"),
    want: { 0: "PERMISSIVE" },
  },
  {
    name: "workload DISABLE overrides mesh STRICT",
    policies:
      pa("default", "istio-system", "{ mtls: { mode: STRICT } }") +
      pa("finance", "foo", "{ selector: { matchLabels: { app: finance } }, mtls: { mode: DISABLE } }"),
    want: { 0: "DISABLE" },
  },
  {
    name: "Istio's example: namespace STRICT, finance's port 8080 DISABLE",
    policies:
      pa("default", "foo", "{ mtls: { mode: STRICT } }") +
      pa(
        "finance",
        "foo",
        "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT }, portLevelMtls: { 8080: { mode: DISABLE } } }",
      ),
    want: { 0: "STRICT", 8080: "DISABLE" },
  },
  {
    name: "Istio's example: workload UNSET inherits the namespace, port 8080 DISABLE",
    policies:
      pa("default", "foo", "{ mtls: { mode: STRICT } }") +
      pa(
        "finance",
        "foo",
        "{ selector: { matchLabels: { app: finance } }, mtls: { mode: UNSET }, portLevelMtls: { 8080: { mode: DISABLE } } }",
      ),
    want: { 0: "STRICT", 8080: "DISABLE" },
  },
  {
    name: "a port UNSET inherits the workload's mode",
    policies:
      pa("default", "istio-system", "{ mtls: { mode: PERMISSIVE } }") +
      pa(
        "finance",
        "foo",
        "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT }, portLevelMtls: { 8080: { mode: UNSET }, 9090: { mode: PERMISSIVE } } }",
      ),
    want: { 0: "STRICT", 8080: "STRICT", 9090: "PERMISSIVE" },
  },
  {
    name: "port-level modes of a policy for another workload don't apply",
    policies: pa(
      "finance",
      "foo",
      "{ selector: { matchLabels: { app: finance } }, portLevelMtls: { 8080: { mode: STRICT } } }",
    ),
    labels: OTHER,
    want: { 0: "PERMISSIVE", 8080: "PERMISSIVE" },
  },
  {
    name: "two namespace policies: the oldest wins",
    policies:
      pa("b-new", "foo", "{ mtls: { mode: DISABLE } }", 30) + pa("z-old", "foo", "{ mtls: { mode: STRICT } }", 10),
    want: { 0: "STRICT" },
  },
  {
    name: "two mesh-wide policies: the oldest wins",
    policies:
      pa("a", "istio-system", "{ mtls: { mode: DISABLE } }", 20) +
      pa("b", "istio-system", "{ mtls: { mode: STRICT } }", 5),
    want: { 0: "STRICT" },
  },
  {
    name: "two workload policies: the oldest wins, ports and all",
    policies:
      pa("new", "foo", "{ selector: { matchLabels: { app: finance } }, mtls: { mode: DISABLE } }", 40) +
      pa(
        "old",
        "foo",
        "{ selector: { matchLabels: { app: finance } }, mtls: { mode: STRICT }, portLevelMtls: { 8080: { mode: PERMISSIVE } } }",
        1,
      ),
    want: { 0: "STRICT", 8080: "PERMISSIVE" },
  },
  {
    name: "equal age: the name decides",
    policies: pa("b", "foo", "{ mtls: { mode: DISABLE } }") + pa("a", "foo", "{ mtls: { mode: STRICT } }"),
    want: { 0: "STRICT" },
  },
  {
    name: "a workload in the root namespace: the namespace-less policy there is mesh-wide",
    policies: pa("default", "istio-system", "{ mtls: { mode: STRICT } }"),
    ns: "istio-system",
    want: { 0: "STRICT" },
  },
];

describe("PeerAuthentication: mesh, namespace, workload and port precedence (istiod's)", () => {
  it.each(cases)("$name", (c) => {
    const { model } = normalise(parseYaml(c.policies));
    model.mesh = parseMeshConfig(c.mesh ? `mtls: { mode: ${c.mesh} }` : "");
    const m = workloadMtls(model, c.ns ?? "foo", c.labels ?? FINANCE);
    const got = Object.fromEntries(Object.keys(c.want).map((p) => [Number(p), portMode(m, Number(p))]));
    expect(got).toEqual(c.want);
  });
});
