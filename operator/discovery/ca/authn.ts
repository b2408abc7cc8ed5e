// Who presents a token to the mesh CA. Kubernetes: the API server's TokenReview (audience istio-ca), as Istio's
// CA does. Local mode (no API server): tokens discovery's own key signed (HMAC-SHA256, JWT shape), minted by the
// launcher for each workload it starts; the key is a 0600 file next to the local CA's, so only the user running the
// mesh can mint one.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { CA_AUDIENCE } from "../../../proxy/xds/ca.js";

export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
}

/** A refusal the caller sees (gRPC UNAUTHENTICATED with this message). */
export class AuthnError extends Error {}

export interface Authenticator {
  /** The token's identity; throws AuthnError saying why it is refused. */
  authenticate(token: string): Promise<WorkloadIdentity>;
}

/** `system:serviceaccount:<ns>:<sa>` → its identity. Pure. */
export function serviceAccountOf(username: string): WorkloadIdentity | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? { namespace: m[1] as string, serviceAccount: m[2] as string } : undefined;
}

export class TokenReviewAuthenticator implements Authenticator {
  constructor(private readonly kc: KubeConfig) {}

  async authenticate(token: string): Promise<WorkloadIdentity> {
    const api = this.kc.makeApiClient(AuthenticationV1Api);
    const review = await api.createTokenReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [CA_AUDIENCE] } },
    });
    const st = review.status;
    if (!st?.authenticated) throw new AuthnError(`token refused by TokenReview: ${st?.error || "not authenticated"}`);
    if (!st.audiences?.includes(CA_AUDIENCE))
      throw new AuthnError(`token refused: its audiences ${JSON.stringify(st.audiences ?? [])} lack ${CA_AUDIENCE}`);
    const id = serviceAccountOf(st.user?.username ?? "");
    if (!id) throw new AuthnError(`token refused: ${st.user?.username ?? "its user"} is not a ServiceAccount`);
    return id;
  }
}

interface LocalClaims {
  sub: string;
  aud: string;
  exp: number;
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString("base64url");
const HEADER = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));

/** The local mode's token key: read from `file`, or created there (32 random bytes, mode 0600). */
export function localTokenKey(file: string): Buffer {
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  return Buffer.from(readFileSync(file, "utf8").trim(), "hex");
}

/** A local workload token for `id`, valid `ttlMs`. */
export function mintLocalToken(key: Buffer, id: WorkloadIdentity, ttlMs: number, aud = CA_AUDIENCE): string {
  const claims: LocalClaims = {
    sub: `system:serviceaccount:${id.namespace}:${id.serviceAccount}`,
    aud,
    exp: Math.floor((Date.now() + ttlMs) / 1000),
  };
  const body = `${HEADER}.${b64(JSON.stringify(claims))}`;
  return `${body}.${b64(createHmac("sha256", key).update(body).digest())}`;
}

export class LocalAuthenticator implements Authenticator {
  constructor(private readonly key: Buffer) {}

  async authenticate(token: string): Promise<WorkloadIdentity> {
    const [h, p, sig] = token.split(".");
    if (!h || !p || !sig) throw new AuthnError("token refused: not a JWT");
    const want = createHmac("sha256", this.key).update(`${h}.${p}`).digest();
    const got = Buffer.from(sig, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want))
      throw new AuthnError("token refused: signature does not verify");
    let claims: Partial<LocalClaims>;
    try {
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Partial<LocalClaims>;
    } catch {
      throw new AuthnError("token refused: claims do not parse");
    }
    if (claims.aud !== CA_AUDIENCE) throw new AuthnError(`token refused: audience ${claims.aud} is not ${CA_AUDIENCE}`);
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now())
      throw new AuthnError("token refused: expired");
    const id = serviceAccountOf(claims.sub ?? "");
    if (!id) throw new AuthnError(`token refused: ${claims.sub} is not a ServiceAccount`);
    return id;
  }
}
