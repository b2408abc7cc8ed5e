// The README's mTLS scenario on the local mesh (`npm start`'s code): every workload and the gateway get an identity
// from discovery's CA and talk mTLS, PERMISSIVE by default so a plaintext client still gets in; Istio's mesh-wide
// STRICT PeerAuthentication refuses that client at the TLS layer while Bookinfo keeps serving through the gateway;
// Istio's details-viewer AuthorizationPolicy lets only the productpage's identity read details: reviews' sidecar
// gets 403 `RBAC: access denied`. Runs the built package (`npm run build` first).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { get, poll } from "../../hack/local/procs.js";
import { request } from "node:http";
import { change } from "../support/local-mesh.js";

const SECURITY = path.join(repoRoot(), "samples/bookinfo/security");

/**
 * A GET on a new connection (fetch can't set Host, and pools connections): the status and body, or the connection's
 * error code when the server closes it.
 */
function fresh(
  host: string,
  port: number,
  path: string,
  authority: string,
): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, headers: { host: authority }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

describe("local mode: mutual TLS from discovery's CA, STRICT and an AuthorizationPolicy with Istio's files", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-local-mtls-"));
  let mesh: LocalMesh;
  const sidecar = (app: string) => {
    const w = mesh.layout.workloads.find((x) => x.app === app);
    if (!w) throw new Error(`no ${app}`);
    return w;
  };
  /** Straight to details' sidecar without a certificate: a client outside the mesh. */
  const plaintextToDetails = () => fresh(sidecar("details").ip, 9080, "/details/0", "details:9080");
  /** From reviews' sidecar (identity bookinfo-reviews) to details, as reviews' app would call it. */
  const detailsFromReviews = () => fresh(sidecar("reviews").ip, mesh.layout.outboundPort, "/details/0", "details:9080");
  const productPage = () => get(`${mesh.gatewayUrl}/productpage`);
  const file = (name: string) => readFileSync(path.join(SECURITY, name), "utf8");

  beforeAll(async () => {
    mesh = await startLocalMesh({
      configDir: path.join(work, "config"),
      base: "127.0.54",
      appBase: "127.0.55",
      gatewayIp: "127.0.54.3",
    });
  }, 90_000);
  afterAll(async () => {
    await mesh?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("PERMISSIVE by default: Bookinfo serves, and a plaintext client still reaches details", async () => {
    const page = await productPage();
    expect(page?.status).toBe(200);
    expect(page?.body).toContain("ISBN-10");
    expect(await plaintextToDetails()).toMatchObject({ status: 200 });
    expect(await detailsFromReviews()).toMatchObject({ status: 200 });
  });

  it("STRICT: the plaintext client is refused, the mesh (gateway → productpage → details) keeps serving", async () => {
    await change(mesh, { "peer-authentication-strict.yaml": file("peer-authentication-strict.yaml") });
    // Each sidecar swaps its inbound chains once it ACKs: wait for details' to refuse plaintext.
    const refused = await poll(
      "details to refuse plaintext",
      async () => {
        const r = await plaintextToDetails();
        return typeof r === "string" ? r : undefined;
      },
      30_000,
    );
    expect(refused).toMatch(/^(ECONNRESET|socket hang up)$/);
    const page = await productPage();
    expect(page?.status).toBe(200);
    expect(page?.body).toContain("ISBN-10");
  }, 60_000);

  it("details-viewer: only productpage's identity reads details; reviews' sidecar gets RBAC: access denied", async () => {
    await change(mesh, { "details-viewer.yaml": file("details-viewer.yaml") });
    const denied = await detailsFromReviews();
    expect(denied).toEqual({ status: 403, body: "RBAC: access denied" });
    const page = await productPage();
    expect(page?.body).toContain("ISBN-10");
  }, 60_000);
});
