// Istio's "Authorization on ingress with JWT" through translate and the engine: a RequestAuthentication and an ALLOW
// AuthorizationPolicy on a gateway. No token: the RBAC filter's 403 (requestPrincipals ["*"] needs one); a valid
// token: 200; an expired or forged one: jwt_authn's 401 before RBAC; a claim condition decides another path.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { get } from "../../../test/support/engine/helpers.js";
import { issuer, jwks, nowSeconds } from "../../../test/support/jwt.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";

const ISS = "https://issuer.example.com";
const key = issuer("RS256");
const stranger = issuer("RS256", key.kid);
const token = (claims: Record<string, unknown> = {}, by = key) =>
  by.token({ iss: ISS, sub: "alice", exp: nowSeconds() + 300, ...claims });

describe("JWT authorization on a gateway, translated and run", () => {
  let app: Server;
  let engine: Engine;
  let port = 0;

  beforeAll(async () => {
    app = createServer((req, res) => res.end(`app ${req.url} ${req.headers.authorization ?? "no token"}`));
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    port = (await freePorts(1, "0.0.0.0"))[0] as number;
    const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec: { servers: [{ port: { number: ${port}, name: http, protocol: HTTP }, hosts: [books.example.com] }] }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: books, namespace: default }
spec:
  hosts: [books.default.svc.cluster.local]
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: ${(app.address() as AddressInfo).port} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: books, namespace: default }
spec:
  hosts: [books.example.com]
  gateways: [gw]
  http: [{ route: [{ destination: { host: books.default.svc.cluster.local, port: { number: 80 } } }] }]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  jwtRules: [{ issuer: "${ISS}", jwks: '${jwks(key)}' }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: default }
spec:
  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
    to: [{ operation: { paths: ["/books*"] } }]
  - to: [{ operation: { paths: ["/admin*"] } }]
    when:
    - { key: "request.auth.claims[groups]", values: [admins] }
    - { key: request.auth.principal, values: ["${ISS}/alice"] }
  - to: [{ operation: { paths: ["/team*"] } }]
    when: [{ key: "request.auth.claims[org][team]", values: ["books-*"] }]
`;
    ({ engine } = await runTranslated(yaml, "router~127.0.0.1~gw-0.default~default.svc.cluster.local"));
  });
  afterAll(async () => {
    await engine.stop();
    app.close();
  });

  const call = (path: string, t?: string) =>
    get(port, path, { host: "books.example.com", ...(t ? { authorization: `Bearer ${t}` } : {}) });

  it("refuses a request without a token (403 from RBAC) and lets a valid token's through, without the token", async () => {
    const none = await call("/books");
    expect([none.status, none.body]).toEqual([403, "RBAC: access denied"]);
    const ok = await call("/books", token());
    expect([ok.status, ok.body]).toEqual([200, "app /books no token"]);
  });

  it("answers an expired or forged token 401 before RBAC sees it", async () => {
    const expired = await call("/books", token({ exp: nowSeconds() - 3600 }));
    expect([expired.status, expired.body]).toEqual([401, "Jwt is expired"]);
    expect(expired.headers["www-authenticate"]).toContain('error="invalid_token"');
    const forged = await call("/books", token({}, stranger));
    expect([forged.status, forged.body]).toEqual([401, "Jwt verification fails"]);
  });

  it("decides by claims: a list or a value, nested, and the principal", async () => {
    expect((await call("/admin", token({ groups: ["users", "admins"] }))).status).toBe(200);
    expect((await call("/admin", token({ groups: "admins" }))).status).toBe(200);
    expect((await call("/admin", token({ groups: ["users"] }))).status).toBe(403);
    expect((await call("/admin", token({ groups: ["admins"], sub: "bob" }))).status).toBe(403);
    expect(await call("/admin")).toMatchObject({ status: 403 });
    expect((await call("/team", token({ org: { team: "books-eu" } }))).status).toBe(200);
    expect((await call("/team", token({ org: { team: "music" } }))).status).toBe(403);
  });
});
