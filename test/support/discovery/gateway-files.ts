// A gateway's certificate files as a Gateway's `tls` names them (serverCertificate, privateKey, caCertificates), in a
// temporary folder: the server's leaf and the CA its clients' certificates are checked against.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes tls.crt, tls.key and client-ca.crt; returns the folder. */
export function gatewayFiles(prefix: string, leaf: { certPem: string; keyPem: string }, clientCaPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, "tls.crt"), leaf.certPem);
  writeFileSync(join(dir, "tls.key"), leaf.keyPem);
  writeFileSync(join(dir, "client-ca.crt"), clientCaPem);
  return dir;
}
