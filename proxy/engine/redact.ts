// /config_dump redaction, as Envoy's admin does it (MessageUtil::redact): a field annotated
// `(udpa.annotations.sensitive) = true` keeps its shape, but every string or bytes value under it reads
// "[redacted]" and other scalars are dropped. The dump here is proto3 JSON, so fields are found by name; a name is
// listed when any Envoy message marks a field of that name sensitive (redact.test.ts derives the set from the
// protos, so a new sensitive field fails the test until it is listed here).
export const SENSITIVE_FIELDS: ReadonlySet<string> = new Set([
  "auth_password",
  "auth_username",
  "backend_token",
  "context_extensions",
  "downstream_auth_password",
  "downstream_auth_passwords",
  "downstream_auth_username",
  "keys", // tls SessionTicketKeys
  "password",
  "pkcs12",
  "private_key",
  "secret", // tls GenericSecret
  "secret_data",
  "typed_config", // only under private_key_provider: see below
  "users",
]);

export const REDACTED = "[redacted]";

// `typed_config` is sensitive only as PrivateKeyProvider's; elsewhere it is a filter's config, not a secret.
const ONLY_UNDER: Readonly<Record<string, string>> = { typed_config: "private_key_provider" };

function redactAll(v: unknown): unknown {
  if (typeof v === "string") return REDACTED;
  if (Array.isArray(v)) return v.map(redactAll).filter((x) => x !== undefined);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "@type")
        out[k] = x; // an Any's type names no secret
      else {
        const r = redactAll(x);
        if (r !== undefined) out[k] = r;
      }
    }
    return out;
  }
  return undefined; // numbers, booleans, null: cleared
}

/** A deep copy of a config dump with every sensitive field's values replaced by "[redacted]". */
export function redact(v: unknown, parent = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => redact(x, parent));
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const only = ONLY_UNDER[k];
    const sensitive = SENSITIVE_FIELDS.has(k) && (only === undefined || only === parent);
    out[k] = sensitive ? (redactAll(x) ?? REDACTED) : redact(x, k);
  }
  return out;
}
