// SDS secrets (envoy.extensions.transport_sockets.tls.v3.Secret), as Istio names them: `default` (the workload's
// certificate and key) and `ROOTCA` (the mesh root), which the agent holds, and a gateway's `kubernetes://<name>`
// (its credentialName Secrets), which discovery serves over ADS. The agent sends them all with every config, so a
// rotation is a config swap: new connections get the new certificate, connections already open keep theirs.
// A common_tls_context naming secrets is resolved here into its inline form; anything else about SDS is refused.
import type { DataSource } from "./types.js";
import { adsSource, join, onlyKnown, Reader, type Obj } from "./read.js";
import { dataSource } from "./upstream.js";

export interface Secret {
  name: string;
  cert: DataSource | undefined;
  key: DataSource | undefined;
  ca: DataSource | undefined;
  /** validation_context.crl: the CRL that goes with the CA (istiod's from a Secret's `ca.crl` or `crl`). */
  crl: DataSource | undefined;
}

export type Secrets = ReadonlyMap<string, Secret>;

export function compileSecrets(list: unknown[] | undefined): Secrets {
  const out = new Map<string, Secret>();
  (list ?? []).forEach((raw, i) => {
    const name = String((raw as Obj | null)?.name ?? `#${i}`);
    const r = new Reader("Secret", name);
    const o = r.obj(raw, "");
    onlyKnown(r, o, "", ["name", "tls_certificate", "validation_context"], "Secret");
    r.reqStr(o, "name", "");
    if (out.has(name)) r.fail("name", "duplicate name");
    const tc = r.optObj(o, "tls_certificate", "");
    if (tc) onlyKnown(r, tc, "tls_certificate", ["certificate_chain", "private_key"], "tls_certificate");
    const vc = r.optObj(o, "validation_context", "");
    if (vc) onlyKnown(r, vc, "validation_context", ["trusted_ca", "crl"], "validation_context");
    if (vc?.crl !== undefined && vc.trusted_ca === undefined) r.fail("validation_context.crl", "needs trusted_ca");
    out.set(name, {
      name,
      cert: tc ? dataSource(r, tc, "certificate_chain", "tls_certificate") : undefined,
      key: tc ? dataSource(r, tc, "private_key", "tls_certificate") : undefined,
      ca: vc ? dataSource(r, vc, "trusted_ca", "validation_context") : undefined,
      crl: vc?.crl !== undefined ? dataSource(r, vc, "crl", "validation_context") : undefined,
    });
  });
  return out;
}

const inline = (d: DataSource): Obj =>
  d.inline !== undefined ? { inline_string: d.inline } : { filename: d.filename };

/** What stands in for a secret a cluster names that hasn't come: its connections are refused (UpstreamTls.notReady). */
const standIn = (name: string): Secret => {
  const none = { filename: undefined, inline: "" };
  return { name, cert: none, key: none, ca: none, crl: undefined };
};

/**
 * A secret a cluster names that holds the wrong kind (no certificate and key where one is wanted, no CA where that is)
 * is as one that hasn't come: Envoy rejects that Secret alone and keeps the cluster without its TLS context
 * (connections refused); a listener's is a NACK, as before. A name may be both: istiod serves
 * `kubernetes://<name>-cacert` as a CA, which a DestinationRule's MUTUAL `credentialName: <name>-cacert` names as a
 * certificate.
 */
function fit(s: Secret, cert: boolean, missing: ((name: string) => void) | undefined): Secret {
  if (!missing || (cert ? s.cert && s.key : s.ca)) return s;
  missing(s.name);
  return standIn(s.name);
}

/**
 * An SdsSecretConfig: its name, found among the secrets the config carries (the agent's, and those over ADS). One
 * that isn't there is a NACK, unless `missing` takes it (a cluster, which Envoy keeps warming: see upstream.ts).
 */
function secretRef(r: Reader, o: Obj, path: string, secrets: Secrets, missing?: (name: string) => void): Secret {
  onlyKnown(r, o, path, ["name", "sds_config"], "SdsSecretConfig");
  const name = r.reqStr(o, "name", path);
  const cfg = r.optObj(o, "sds_config", path);
  if (cfg) {
    const cp = join(path, "sds_config");
    adsSource(r, cfg, cp);
    if (!r.optObj(cfg, "ads", cp)) r.fail(join(cp, "ads"), "is required: secrets come from the agent or over ADS");
  }
  const s = secrets.get(name);
  if (!s && missing) {
    missing(name);
    return standIn(name);
  }
  if (!s) r.fail(join(path, "name"), `secret ${JSON.stringify(name)} is not (yet) available (from the agent or SDS)`);
  return s as Secret;
}

/**
 * common_tls_context with its SDS references (tls_certificate_sds_secret_configs, validation_context_sds_secret_config,
 * combined_validation_context) replaced by the secrets' inline data, for the inline-only compilers.
 */
export function resolveSds(r: Reader, c: Obj, cp: string, secrets: Secrets, missing?: (name: string) => void): Obj {
  const out: Obj = { ...c };
  const certRefs = r.list(c, "tls_certificate_sds_secret_configs", cp);
  if (certRefs.length) {
    if (c.tls_certificates !== undefined)
      r.fail(join(cp, "tls_certificate_sds_secret_configs"), "not together with tls_certificates");
    // Each named secret's certificate, in order (a listener may have several, one per key type: listeners.ts).
    out.tls_certificates = certRefs.map((ref, i) => {
      const p = join(join(cp, "tls_certificate_sds_secret_configs"), i);
      const s = fit(secretRef(r, r.obj(ref, p), p, secrets, missing), true, missing);
      if (!s.cert || !s.key) r.fail(join(p, "name"), `secret ${JSON.stringify(s.name)} holds no tls_certificate`);
      return { certificate_chain: inline(s.cert as DataSource), private_key: inline(s.key as DataSource) };
    });
    delete out.tls_certificate_sds_secret_configs;
  }
  /** The secret's trusted_ca, and its crl when it has one. */
  const caFrom = (o: Obj, p: string): Obj => {
    const s = fit(secretRef(r, o, p, secrets, missing), false, missing);
    if (!s.ca) r.fail(join(p, "name"), `secret ${JSON.stringify(s.name)} holds no validation_context`);
    return { trusted_ca: inline(s.ca as DataSource), ...(s.crl ? { crl: inline(s.crl) } : {}) };
  };
  const vref = r.optObj(c, "validation_context_sds_secret_config", cp);
  if (vref) {
    if (c.validation_context !== undefined || c.combined_validation_context !== undefined)
      r.fail(join(cp, "validation_context_sds_secret_config"), "only one validation context may be given");
    out.validation_context = caFrom(vref, join(cp, "validation_context_sds_secret_config"));
    delete out.validation_context_sds_secret_config;
  }
  const combined = r.optObj(c, "combined_validation_context", cp);
  if (combined) {
    const p = join(cp, "combined_validation_context");
    if (c.validation_context !== undefined) r.fail(p, "only one validation context may be given");
    onlyKnown(
      r,
      combined,
      p,
      ["default_validation_context", "validation_context_sds_secret_config"],
      "combined_validation_context",
    );
    const dv = r.optObj(combined, "default_validation_context", p) ?? {};
    if (dv.trusted_ca !== undefined) r.fail(join(p, "default_validation_context.trusted_ca"), "comes from the secret");
    const ref = r.obj(combined.validation_context_sds_secret_config, join(p, "validation_context_sds_secret_config"));
    const fromSecret = caFrom(ref, join(p, "validation_context_sds_secret_config"));
    // A CRL in both would be merged by Envoy (the secret's wins): refused rather than one silently dropped.
    if (dv.crl !== undefined && fromSecret.crl !== undefined)
      r.fail(join(p, "default_validation_context.crl"), "the secret holds a crl too");
    out.validation_context = { ...dv, ...fromSecret };
    delete out.combined_validation_context;
  }
  return out;
}
