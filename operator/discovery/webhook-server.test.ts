// The webhook server over HTTPS: /validate and /inject share one server and certificate; other paths are 404.
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import type { Server } from "node:https";
import { generateCa, issueCert } from "../runtime/pki.js";
import { webhookServer } from "./webhook.js";

let server: Server;
let caPem: string;
let cert: { certPem: string; keyPem: string };
const warnings: object[] = [];

beforeAll(async () => {
  const ca = await generateCa("test-ca", 1);
  caPem = ca.certPem;
  cert = await issueCert(ca, {
    commonName: "weftd.mesh.svc",
    dnsNames: ["localhost"],
    ips: ["127.0.0.1"],
    usage: "server",
    days: 1,
  });
  server = webhookServer({
    ...cert,
    destinationRules: () => Promise.resolve([]),
    inject: (review) => Promise.resolve({ injected: review.request?.uid }),
    log: { warn: (obj) => void warnings.push(obj) },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function call(
  method: string,
  path: string,
  body?: string,
  to: Server = server,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: (to.address() as AddressInfo).port, method, path, ca: caPem },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the webhook server", () => {
  it("hands POST /inject to the injector and POST /validate to validation", async () => {
    expect(JSON.parse((await call("POST", "/inject", JSON.stringify({ request: { uid: "u9" } }))).body)).toEqual({
      injected: "u9",
    });
    const validated = JSON.parse(
      (await call("POST", "/validate", JSON.stringify({ request: { uid: "u8", object: null } }))).body,
    ) as { response: { allowed: boolean } };
    expect(validated.response.allowed).toBe(true);
  });

  it("answers 405 to other methods, 404 to other paths, 400 to a body that isn't JSON, and logs it", async () => {
    expect((await call("GET", "/inject")).status).toBe(405);
    expect((await call("POST", "/mutate", "{}")).status).toBe(404);
    const bad = await call("POST", "/inject", "{");
    expect(bad.status).toBe(400);
    expect(warnings).toContainEqual(expect.objectContaining({ path: "/inject" }));
  });

  it("serves no /inject without an injector", async () => {
    const validateOnly = webhookServer({
      ...cert,
      destinationRules: () => Promise.resolve([]),
      log: { warn: () => undefined },
    });
    await new Promise<void>((resolve) => validateOnly.listen(0, "127.0.0.1", resolve));
    try {
      expect((await call("POST", "/inject", "{}", validateOnly)).status).toBe(404);
    } finally {
      await new Promise<void>((resolve) => validateOnly.close(() => resolve()));
    }
  });
});
