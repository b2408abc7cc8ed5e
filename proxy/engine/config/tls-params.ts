// common_tls_context.tls_params, for both sides: the protocol versions, and (listeners) cipher_suites, the TLS 1.0–1.2
// suites as Envoy takes them (TLS 1.3's are not configurable there, so a TLS_ name is refused, as an unknown one is).
// BoringSSL's equal-preference groups ("[A|B]") have no OpenSSL equivalent: their suites are taken in the order
// written, each still offered.
import { cipherSuiteError, cipherSuiteNames } from "../../xds/cipher-suites.js";
import { join, type Obj, type Reader, onlyKnown } from "./read.js";

const TLS_VERSIONS = ["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"] as const;
const NODE_VERSION = { TLSv1_0: "TLSv1", TLSv1_1: "TLSv1.1", TLSv1_2: "TLSv1.2", TLSv1_3: "TLSv1.3" } as const;
export type TlsVersion = (typeof NODE_VERSION)[keyof typeof NODE_VERSION];

export interface TlsParams {
  minVersion: TlsVersion | undefined;
  maxVersion: TlsVersion | undefined;
  /** OpenSSL's cipher list (colon-separated), undefined for the defaults. */
  ciphers: string | undefined;
}

/** `common`'s tls_params; `withCiphers`: cipher_suites is taken (a listener's), else refused. */
export function tlsParams(r: Reader, common: Obj, cp: string, withCiphers: boolean): TlsParams {
  const params = r.optObj(common, "tls_params", cp);
  const pp = join(cp, "tls_params");
  const fields = ["tls_minimum_protocol_version", "tls_maximum_protocol_version"];
  if (params) onlyKnown(r, params, pp, withCiphers ? [...fields, "cipher_suites"] : fields, "tls_params");
  const version = (k: string) => {
    const name = params ? r.enumName(params, k, pp, TLS_VERSIONS, "TLS_AUTO") : "TLS_AUTO";
    return name === "TLS_AUTO" ? undefined : NODE_VERSION[name];
  };
  const minVersion = version("tls_minimum_protocol_version");
  const maxVersion = version("tls_maximum_protocol_version");
  const order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
  if (minVersion && maxVersion && order.indexOf(minVersion) > order.indexOf(maxVersion))
    r.fail(join(pp, "tls_minimum_protocol_version"), `${minVersion} is above the maximum ${maxVersion}`);
  const suites = params ? r.list(params, "cipher_suites", pp) : [];
  const names = suites.flatMap((s, i) => {
    const at = join(join(pp, "cipher_suites"), i);
    if (typeof s !== "string" || !s) return r.fail(at, "not a cipher suite name");
    const list = cipherSuiteNames(s);
    for (const n of list) {
      const why = cipherSuiteError(n);
      if (why) r.fail(at, why);
    }
    return list;
  });
  return { minVersion, maxVersion, ciphers: names.length ? names.join(":") : undefined };
}
