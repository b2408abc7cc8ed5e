// What an xDS client knows, per type: the accepted resources, version and nonce, and the names it subscribes
// to. Pure: it validates a response against the engine's compiler, and tells when the whole is consistent
// (every EDS cluster has its assignment, every RDS name its route table), which is when the engine may take it.
import type { EngineConfig, Resources } from "../engine/config/types.js";
import { compile } from "../engine/config/index.js";
import type { JsonObject } from "../xds/types.js";
import { TYPE, WARMING_ORDER, SHORT_NAME, resourceName, type SnapshotType } from "../xds/types.js";
import { edsNames, rdsNames, sdsNames } from "../xds/references.js";
import { DEFAULT_SECRET, ROOT_SECRET } from "./secrets.js";

export interface TypeState {
  version: string;
  nonce: string;
  resources: Map<string, JsonObject>;
  /** The last NACK's message, cleared by the next ACK. */
  error: string | undefined;
}

const isWildcard = (type: string): boolean => type === TYPE.cluster || type === TYPE.listener;
/** The secrets the agent holds itself (the workload certificate): never asked of discovery. */
export const AGENT_SECRETS: ReadonlySet<string> = new Set([DEFAULT_SECRET, ROOT_SECRET]);

export { isSnapshotType } from "../xds/types.js";

export { edsNames, rdsNames } from "../xds/references.js";

export type Shape = (r: Resources) => Resources;

export class XdsState {
  /** `shape` turns served resources into what this proxy runs (see local-shape.ts); checks apply to its output. */
  constructor(readonly shape: Shape = (r) => r) {}

  readonly types = new Map<SnapshotType, TypeState>(
    WARMING_ORDER.map((t) => [t, { version: "", nonce: "", resources: new Map(), error: undefined }]),
  );

  private get(type: SnapshotType): TypeState {
    return this.types.get(type) as TypeState;
  }

  private values(type: SnapshotType): JsonObject[] {
    return [...this.get(type).resources.values()];
  }

  /**
   * The names to subscribe to: none (everything) for CDS/LDS, the referenced ones for EDS/RDS, and for SDS the
   * secrets transport sockets name that the agent doesn't hold itself (a gateway's `kubernetes://…`).
   */
  names(type: SnapshotType): string[] {
    if (type === TYPE.endpoint) return edsNames(this.values(TYPE.cluster));
    if (type === TYPE.route) return rdsNames(this.values(TYPE.listener));
    if (type === TYPE.secret)
      return sdsNames(this.values(TYPE.listener), this.values(TYPE.cluster)).filter((n) => !AGENT_SECRETS.has(n));
    return [];
  }

  /**
   * The secrets from discovery for checking a response on its own: those that have arrived, and a stand-in for each
   * named one still on its way (SDS follows LDS, as Envoy warms a listener until its secrets come).
   */
  private secretsFor(listeners: JsonObject[], clusters: JsonObject[]): JsonObject[] {
    const have = this.get(TYPE.secret).resources;
    const stand = { inline_string: "" };
    return sdsNames(listeners, clusters)
      .filter((n) => !AGENT_SECRETS.has(n))
      .map(
        (name) =>
          have.get(name) ?? {
            name,
            tls_certificate: { certificate_chain: stand, private_key: stand },
            validation_context: { trusted_ca: stand },
          },
      );
  }

  /** The resources of `type` after a response: the full set for CDS/LDS, per name for EDS/RDS. */
  candidate(type: SnapshotType, incoming: JsonObject[]): Map<string, JsonObject> {
    const next = new Map(isWildcard(type) ? [] : this.get(type).resources);
    for (const r of incoming) next.set(resourceName(type, r), r);
    if (!isWildcard(type)) {
      const wanted = new Set(this.names(type));
      for (const name of next.keys()) if (!wanted.has(name)) next.delete(name);
    }
    return next;
  }

  /**
   * The compiler's message for the first invalid resource, or undefined. Each type is checked with what it
   * depends on and what has arrived: clusters alone, routes against the known clusters, listeners against both.
   */
  validate(type: SnapshotType, resources: Map<string, JsonObject>): string | undefined {
    const list = [...resources.values()];
    const clusters = this.values(TYPE.cluster);
    const set: Resources =
      type === TYPE.cluster
        ? { clusters: list, secrets: this.secretsFor([], list) }
        : type === TYPE.endpoint
          ? { endpoints: list }
          : type === TYPE.route
            ? { clusters, routes: list, secrets: this.secretsFor([], clusters) }
            : type === TYPE.secret
              ? { secrets: list }
              : { clusters, routes: this.routesFor(list), listeners: list, secrets: this.secretsFor(list, clusters) };
    const error = this.check(this.shape(set));
    return error && `${SHORT_NAME[type] ?? type}: ${error}`;
  }

  /** The route tables new listeners name that have arrived: a stale table the new set drops plays no part. */
  private routesFor(listeners: JsonObject[]): JsonObject[] {
    const have = this.get(TYPE.route).resources;
    return rdsNames(listeners).flatMap((n) => {
      const t = have.get(n);
      return t ? [t] : [];
    });
  }

  /** A whole config compiled (what the engine will take), or the compiler's message. */
  compile(whole: Resources): { config: EngineConfig } | { error: string } {
    try {
      return { config: compile(whole) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** The compiler's message for a config, or undefined when it compiles. */
  check(set: Resources): string | undefined {
    const c = this.compile(set);
    return "error" in c ? c.error : undefined;
  }

  /** The SDS names subscribed when the last SDS response was taken: one it didn't carry doesn't exist (yet). */
  private answered = new Set<string>();

  /**
   * Whether a secret only clusters name was asked for and discovery answered without it (a credentialName whose
   * Secret is missing): the config goes on, that cluster refusing its connections (Envoy's cluster past warming),
   * rather than every other change waiting for it. A listener's secret is always waited for.
   */
  private answeredAbsent(name: string): boolean {
    return this.answered.has(name) && !sdsNames(this.values(TYPE.listener)).includes(name);
  }

  /** Takes a validated response; returns the state it replaced, for a rollback. */
  commit(type: SnapshotType, version: string, nonce: string, resources: Map<string, JsonObject>): TypeState {
    if (type === TYPE.secret) this.answered = new Set(this.names(TYPE.secret));
    const before = { ...this.get(type) };
    this.types.set(type, { version, nonce, resources, error: undefined });
    return before;
  }

  restore(type: SnapshotType, state: TypeState): void {
    this.types.set(type, state);
  }

  reject(type: SnapshotType, nonce: string, error: string): void {
    const s = this.get(type);
    this.types.set(type, { ...s, nonce, error });
  }

  /** The names of `type` (EDS, RDS, SDS) the other types reference that haven't arrived. */
  missing(type: SnapshotType): string[] {
    const have = this.get(type).resources;
    return this.names(type).filter((n) => !have.has(n));
  }

  /** The whole config, once it is consistent: every EDS name has arrived and every RDS name (warming done). */
  consistent(): Resources | undefined {
    if (!this.get(TYPE.cluster).version || !this.get(TYPE.listener).version) return undefined;
    const endpoints = this.get(TYPE.endpoint).resources;
    const routes = this.get(TYPE.route).resources;
    if (!this.names(TYPE.endpoint).every((n) => endpoints.has(n))) return undefined;
    if (!this.names(TYPE.route).every((n) => routes.has(n))) return undefined;
    const secrets = this.get(TYPE.secret).resources;
    if (!this.names(TYPE.secret).every((n) => secrets.has(n) || this.answeredAbsent(n))) return undefined;
    return {
      version: this.version(),
      secrets: [...secrets.values()],
      clusters: this.values(TYPE.cluster),
      endpoints: this.values(TYPE.endpoint),
      listeners: this.values(TYPE.listener),
      routes: this.values(TYPE.route),
    };
  }

  /** One version for the whole: the newest config generation any type is at. */
  version(): string {
    const versions = WARMING_ORDER.map((t) => this.get(t).version).filter(Boolean);
    const numeric = versions.every((v) => /^\d+$/.test(v));
    return numeric ? String(Math.max(0, ...versions.map(Number))) : versions.join(",");
  }

  /** For /config_dump: per type (CDS, EDS, LDS, RDS) the version, resource count and last error. */
  summary(): Record<string, { version: string; resources: number; error?: string }> {
    const out: Record<string, { version: string; resources: number; error?: string }> = {};
    for (const [type, s] of this.types) {
      out[SHORT_NAME[type] ?? type] = {
        version: s.version,
        resources: s.resources.size,
        ...(s.error ? { error: s.error } : {}),
      };
    }
    return out;
  }
}
