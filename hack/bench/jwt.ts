// `npm run bench:jwt`: what jwt_authn costs a request, per algorithm: a token seen for the first time (parsed, its
// signature verified with node:crypto) and the same token again (found in the provider's cache: issuer, time window
// and audiences checked, no signature). The requirement is Istio's (the provider, or no token). Prints figures.
import { performance } from "node:perf_hooks";
import { Reader } from "../../proxy/engine/config/read.js";
import type { RequestView } from "../../proxy/engine/config/types.js";
import type { FilterCallbacks } from "../../proxy/engine/filters/api.js";
import { compileJwtAuthn } from "../../proxy/engine/jwt/config.js";
import { verifyRequirement, type Verification } from "../../proxy/engine/jwt/verify.js";
import { issuer, jwks, nowSeconds, type Alg } from "../../test/support/jwt.js";

const ISS = "https://issuer.example.com";
const N = 2000;

function bench(alg: Alg): { miss: number; hit: number } {
  const iss = issuer(alg);
  const config = compileJwtAuthn(
    new Reader("Listener", "bench"),
    {
      providers: { p: { issuer: ISS, local_jwks: { inline_string: jwks(iss) }, payload_in_metadata: "payload" } },
      rules: [
        {
          match: { prefix: "/" },
          requires: { requires_any: { requirements: [{ provider_name: "p" }, { allow_missing: {} }] } },
        },
      ],
    },
    "jwt",
  );
  const requires = config.rules[0]!.requires!;
  const tokens = Array.from({ length: N }, (_, i) =>
    iss.token({ iss: ISS, sub: `user-${i}`, exp: nowSeconds() + 600 }),
  );
  const run = (token: string) => {
    const headers = new Map([["authorization", `Bearer ${token}`]]);
    const view: RequestView = { method: "GET", path: "/", query: "", header: (n) => headers.get(n) };
    const s = { view, setRequestHeader: (n: string) => headers.delete(n), setRequestQuery: () => undefined };
    const v: Verification = {
      s: s as unknown as FilterCallbacks,
      config,
      now: nowSeconds(),
      metadata: undefined,
      clearRouteCache: false,
      count: () => undefined,
    };
    if (verifyRequirement(v, requires) !== "Ok") throw new Error("token refused");
  };
  let t = performance.now();
  for (const token of tokens.slice(0, 100)) run(token); // distinct tokens: every one a miss (the cache keeps 100)
  const miss = (performance.now() - t) / 100;
  t = performance.now();
  for (let i = 0; i < N; i++) run(tokens[i % 100]!); // the same 100 tokens again: hits
  const hit = (performance.now() - t) / N;
  return { miss, hit };
}

for (const alg of ["RS256", "PS256", "ES256", "ES384", "EdDSA"] as Alg[]) {
  bench(alg); // warm
  const { miss, hit } = bench(alg);
  process.stdout.write(
    `${alg.padEnd(6)} first sight ${(miss * 1000).toFixed(1)} µs/request, cached ${(hit * 1000).toFixed(1)} µs/request\n`,
  );
}
