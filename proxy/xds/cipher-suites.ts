// Cipher suite names as Envoy's cipher_suites takes them (TLS 1.0–1.2; TLS 1.3's aren't configurable there), checked
// against what this Node's OpenSSL has: the engine refuses a listener with another, and discovery's webhook a Gateway
// (cipherSuites), so none reaches a proxy. BoringSSL's equal-preference group "[A|B]" is its suites, in order.
import { getCiphers } from "node:tls";

let known: Set<string> | undefined;

/** The suites an entry names (one, or a group's). */
export function cipherSuiteNames(entry: string): string[] {
  const group = /^\[(.+)\]$/.exec(entry)?.[1];
  return group ? group.split("|") : [entry];
}

/** Why `name` can't be configured, or undefined. */
export function cipherSuiteError(name: string): string | undefined {
  known ??= new Set(getCiphers());
  if (/^[A-Z0-9-]+$/i.test(name) && !name.startsWith("TLS_") && known.has(name.toLowerCase())) return undefined;
  return `${JSON.stringify(name)} is not a TLS 1.0-1.2 cipher suite this proxy has`;
}
