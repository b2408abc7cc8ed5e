// Mesh-wide STRICT mutual TLS on the real node (spec.meshConfig.mtls.mode, as a user turns it on): Bookinfo keeps
// serving through the ingress gateway, every hop now mTLS, and a pod outside the mesh that reached productpage in
// plaintext a moment before gets its connection reset. Runs inside real-node.test.ts, after Bookinfo is meshed.
import { images } from "../../hack/image/main.js";
import { kube } from "../integration/support/kubectl.js";
import { BOOKINFO_NS, gatewayAddresses, servedBy } from "./bookinfo.js";
import { httpGet, patchMesh, until } from "./http.js";

const OUTSIDE_NS = "outside-mesh";

const outsider = () => `apiVersion: v1
kind: Namespace
metadata:
  name: ${OUTSIDE_NS}
  annotations: { scheduler.alpha.kubernetes.io/node-selector: type=real }
---
apiVersion: v1
kind: Pod
metadata: { name: outsider, namespace: ${OUTSIDE_NS} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: ${images().bookinfo.ref}
      imagePullPolicy: Never
      args: [ratings, v1, "0.0.0.0:9080", "127.0.0.1:9"]
`;

/** What the outsider gets from productpage: the status, or the error's code (ECONNRESET, ...). */
async function fromOutside(): Promise<string> {
  const script = `fetch("http://productpage.${BOOKINFO_NS}:9080/productpage", { signal: AbortSignal.timeout(5000) })
    .then((r) => process.stdout.write(String(r.status)))
    .catch((e) => process.stdout.write(String(e.cause?.code ?? e.cause?.message ?? e.message)))`;
  return (await kube(["exec", "outsider", "-n", OUTSIDE_NS, "--", "node", "-e", script])).trim();
}

const mtlsMode = (mode: string | null) => patchMesh({ meshConfig: { mtls: { mode } } });

export function strictOnTheRealNode(): void {
  beforeAll(async () => {
    await kube(["apply", "-f", "-"], outsider());
    await kube(["wait", "--for=condition=Ready", "pod/outsider", "-n", OUTSIDE_NS, "--timeout=120s"]);
  }, 180_000);

  afterAll(async () => {
    await kube(["delete", "namespace", OUTSIDE_NS, "--wait=false"]);
  });

  it("STRICT mesh-wide: Bookinfo serves through the gateway; a pod outside the mesh gets a connection reset", async () => {
    // PERMISSIVE (the default): the outsider's plaintext is served.
    expect(await fromOutside()).toBe("200");
    await mtlsMode("STRICT");
    try {
      let seen = "";
      await until(
        "productpage's sidecar refusing plaintext",
        async () => /^(ECONNRESET|UND_ERR_SOCKET|other side closed)$/.test((seen = await fromOutside())) || undefined,
        60_000,
      );
      expect(seen).toMatch(/^(ECONNRESET|UND_ERR_SOCKET|other side closed)$/);
      // The gateway is in the mesh: gateway → productpage → details, reviews (→ ratings) all over mTLS.
      const { podIP, clusterIP } = await gatewayAddresses();
      for (const url of [`http://${podIP}:8080/productpage`, `http://${clusterIP}/productpage`]) {
        for (let i = 0; i < 10; i++) {
          const r = await httpGet(url);
          expect(r.status).toBe(200);
          expect(r.body).toContain("The Comedy of Errors"); // details
          expect(r.body).toContain("Reviewer1"); // reviews
          expect(servedBy(r.body)).toMatch(/^v[123]$/);
        }
      }
    } finally {
      await mtlsMode(null);
    }
    await until(
      "plaintext served again under PERMISSIVE",
      async () => (await fromOutside()) === "200" || undefined,
      60_000,
    );
  });
}
