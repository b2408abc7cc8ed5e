// Local mode's mesh CA: a folder holding the CA pair and the token key (created on first use, files 0600). The
// launcher that starts the workloads mints each one's token from the same key (mintLocalToken), and points its
// sidecar at the token file and at ca-cert.pem.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { caProblem, generateCa, type KeyPair } from "../../runtime/pki.js";
import { localTokenKey } from "./authn.js";

export const LOCAL_CA_FILES = { cert: "ca-cert.pem", key: "ca-key.pem", tokenKey: "token.key" } as const;

export async function localCa(dir: string): Promise<{ ca: KeyPair; tokenKey: Buffer; rootCertFile: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, LOCAL_CA_FILES.cert);
  const keyFile = path.join(dir, LOCAL_CA_FILES.key);
  let ca: KeyPair | undefined;
  if (existsSync(certFile) && existsSync(keyFile)) {
    ca = { certPem: readFileSync(certFile, "utf8"), keyPem: readFileSync(keyFile, "utf8") };
    const problem = caProblem(ca);
    if (problem) throw new Error(`the local mesh CA in ${dir} is unusable: ${problem}`);
  } else {
    ca = await generateCa("weft local mesh CA", 3650);
    writeFileSync(keyFile, ca.keyPem, { mode: 0o600 });
    writeFileSync(certFile, ca.certPem, { mode: 0o644 });
  }
  return { ca, tokenKey: localTokenKey(path.join(dir, LOCAL_CA_FILES.tokenKey)), rootCertFile: certFile };
}
