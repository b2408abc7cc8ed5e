// The agent's xDS: over the shared ADS client (proxy/xds/client.ts, which ACKs, NACKs and reconnects with
// backoff) it subscribes to CDS and LDS (wildcard), then to EDS and RDS by the names those reference; validates
// each response with the engine's compiler; and hands the engine a config only once it is consistent (warming),
// while the engine keeps serving the last good config.
import type { EngineConfig, Resources } from "../engine/config/types.js";
import type { DiscoveryResponse, NodeInfo } from "../xds/ads-wire.js";
import { AdsClient, type AdsClientOptions } from "../xds/client.js";
import { decodeAny } from "../xds/wire-decode.js";
import { envoyWireTypes, type WireTypes } from "../xds/wire-types.js";
import { TYPE, SHORT_NAME, type JsonObject, type SnapshotType } from "../xds/types.js";
import { STATS_METADATA } from "../xds/stats-target.js";
import { ENGINE_TYPE, parseTarget, reportMetadata, type EngineReport, type EngineTarget } from "../xds/engine.js";
import { XdsState, isSnapshotType, type Shape, type TypeState } from "./xds-state.js";

export interface XdsClientOptions {
  /** host:port of discovery's plaintext xDS. */
  address: string;
  /** Incremental xDS (AdsClientOptions.delta). Default false. */
  delta?: boolean;
  node: NodeInfo;
  /** Takes a consistent config, with what it compiled to; throws (the message becomes the NACK) when the engine
   * can't. */
  apply(resources: Resources, compiled: EngineConfig): Promise<void>;
  /** What this proxy makes of the served resources before checking and applying them. Default: as served. */
  shape?: Shape;
  log?(line: string): void;
  /** TLS for each (re)connection: xDS over mTLS with the current workload certificate. Default: plaintext. */
  credentials?: AdsClientOptions["credentials"];
  /** Reconnect backoff: base and ceiling in ms. Default 100 ms, 5 s. */
  backoffMs?: [number, number];
  /** Subscribes to Weft's engine type (proxy/xds/engine.ts) and gets the desired engine (undefined: none). */
  engine?(target: EngineTarget | undefined): void;
}

export class XdsClient {
  readonly state: XdsState;
  private ads: AdsClient | undefined;
  /** The version the engine serves ("" until the first consistent config). */
  applied = "";
  /** The last response's NACK message, if it was NACKed. */
  private nackError: string | undefined;
  /** A CDS or EDS response taken that doesn't fit the rest yet: what the engine waits for. */
  private waiting: string | undefined;

  /** Sent with every request; its metadata carries the engine report. */
  private readonly node: NodeInfo;

  private engineReport: EngineReport | undefined;

  constructor(private readonly opts: XdsClientOptions) {
    this.state = new XdsState(opts.shape);
    this.node = { ...opts.node };
  }

  /** What the agent runs: in node.metadata of every request from now on, and sent at once on the engine type. */
  reportEngine(r: EngineReport): void {
    this.engineReport = r;
    this.engineFields = reportMetadata(r).fields;
    this.node.metadata = { fields: { ...this.engineFields, ...this.statsFields } };
    if (this.ads?.ackedVersion(ENGINE_TYPE)) this.ads.resend(ENGINE_TYPE);
  }

  private engineFields: Record<string, { stringValue: string }> = {};
  private statsFields: Record<string, { stringValue: string }> = {};

  /** Where its Prometheus endpoint listens ("host:port"): in node.metadata, for the service graph. Before start(). */
  announceStats(address: string): void {
    this.statsFields = { [STATS_METADATA]: { stringValue: address } };
    this.node.metadata = { fields: { ...this.engineFields, ...this.statsFields } };
  }

  get address(): string {
    return this.opts.address;
  }

  /** Why the stream last failed, or the last NACK: for the readiness body. */
  get lastError(): string | undefined {
    return this.nackError ?? this.waiting ?? this.ads?.lastError;
  }

  get connected(): boolean {
    return this.ads?.connected ?? false;
  }

  start(): void {
    this.ads = new AdsClient({
      server: this.opts.address,
      delta: this.opts.delta,
      credentials: this.opts.credentials,
      node: this.node,
      backoffMs: this.opts.backoffMs,
      log: (line) => this.opts.log?.(line),
      onResponse: (r) => this.onResponse(r),
    });
    this.ads.subscribe(TYPE.cluster);
    this.ads.subscribe(TYPE.listener);
    if (this.opts.engine) this.ads.subscribe(ENGINE_TYPE);
  }

  /** The desired engine: at most one resource, ACKed when it parses; what the agent makes of it, it reports. */
  private onEngine(r: DiscoveryResponse, types: WireTypes): string | undefined {
    let target: EngineTarget | undefined;
    try {
      const decoded = r.resources.map((any) => decodeAny(types, any));
      if (decoded.length > 1) return `${decoded.length} engines; want at most one`;
      const raw = decoded[0];
      target = raw && parseTarget({ version: raw["version"], binaryPath: raw["binary_path"] });
      if (raw && !target)
        return `engine ${JSON.stringify(raw)}: version must be a plain name, binary_path an absolute path`;
    } catch (err) {
      return `engine: cannot decode: ${(err as Error).message}`;
    }
    this.opts.engine?.(target);
    return undefined;
  }

  private async onResponse(r: DiscoveryResponse): Promise<string | undefined> {
    const type = r.type_url;
    this.nackError = undefined;
    const types = await envoyWireTypes();
    if (type === ENGINE_TYPE && this.opts.engine) return this.onEngine(r, types);
    if (!isSnapshotType(type)) return `unsupported type ${type}`;
    const error = await this.take(type, r, types);
    if (error) {
      this.state.reject(type, r.nonce, error);
      this.nackError = `NACK ${SHORT_NAME[type]}: ${error}`;
      this.opts.log?.(`xds: NACK ${SHORT_NAME[type]} version ${r.version_info}: ${error}`);
      return error;
    }
    // EDS, RDS and SDS by the names CDS and LDS reference, once there are any (Envoy doesn't ask for none).
    for (const follow of [TYPE.endpoint, TYPE.route, TYPE.secret] as const) {
      const names = this.state.names(follow);
      if (names.length > 0 || this.ads?.subscribed(follow)) this.ads?.subscribe(follow, names);
    }
    return undefined;
  }

  /** Validates and commits one response, and applies the whole when consistent; the error to NACK with. */
  private async take(type: SnapshotType, r: DiscoveryResponse, types: WireTypes): Promise<string | undefined> {
    let decoded: JsonObject[];
    try {
      decoded = r.resources.map((any) => decodeAny(types, any));
    } catch (err) {
      return `${SHORT_NAME[type]}: cannot decode: ${(err as Error).message}`;
    }
    const next = this.state.candidate(type, decoded);
    const before = this.state.commit(type, r.version_info, r.nonce, next);
    try {
      return await this.check(type, r, next, before);
    } catch (err) {
      this.state.restore(type, before); // whatever threw, the response is NACKed and leaves no trace
      throw err;
    }
  }

  /** After the commit: checks the whole (or the response alone), and applies; the error to NACK with. */
  private async check(
    type: SnapshotType,
    r: DiscoveryResponse,
    next: Map<string, JsonObject>,
    before: TypeState,
  ): Promise<string | undefined> {
    const whole = this.state.consistent();
    const shaped = whole && this.state.shape(whole);
    // One compile in the common case: a whole that compiles holds this response, so the response is valid too.
    const compiled = shaped && this.state.compile(shaped);
    if (!compiled || "error" in compiled) {
      const invalid = this.state.validate(type, next);
      if (invalid) {
        this.state.restore(type, before);
        return invalid;
      }
    }
    if (!whole || !shaped || !compiled) {
      // Warming: wait for the EDS/RDS/SDS this needs. An SDS answer without a secret the listeners name is said (on
      // /ready and /config_dump): the listener waits for it, as Envoy's would.
      const missing = type === TYPE.secret ? this.state.missing(TYPE.secret) : [];
      if (missing.length) {
        this.waiting = `SDS version ${r.version_info} taken; the engine waits for secret ${missing.map((n) => JSON.stringify(n)).join(", ")}, which discovery didn't send`;
        this.opts.log?.(`xds: ${this.waiting}`);
      }
      return undefined;
    }
    if ("error" in compiled) {
      const pending = compiled.error;
      // Valid alone but not with the rest. CDS or EDS (a dropped cluster the current LDS still names): ACK, and the
      // LDS and RDS that follow in warming order make the whole consistent again; until they do, the engine keeps
      // the last whole config and /ready and /config_dump say what it waits for. LDS or RDS come last: nothing that
      // follows can mend them, so the response is NACKed, naming what doesn't fit.
      if (type === TYPE.listener || type === TYPE.route) {
        this.state.restore(type, before);
        return `${SHORT_NAME[type]}: ${pending}`;
      }
      this.waiting = `${SHORT_NAME[type]} version ${r.version_info} taken; the engine waits for the LDS or RDS that fits it (${pending})`;
      this.opts.log?.(`xds: ${this.waiting}`);
      return undefined;
    }
    try {
      await this.opts.apply(shaped, compiled.config);
      this.applied = whole.version ?? "";
      this.waiting = undefined;
      return undefined;
    } catch (err) {
      this.state.restore(type, before);
      return `${SHORT_NAME[type]}: ${(err as Error).message}`;
    }
  }

  /** For /config_dump. */
  dump(): Record<string, unknown> {
    return {
      xds: {
        server: this.opts.address,
        node: this.opts.node.id,
        connected: this.connected,
        protocol: this.ads?.incremental ? "delta" : "state of the world",
        applied_version: this.applied,
        ...(this.waiting ? { waiting: this.waiting } : {}),
        types: this.state.summary(),
        // What this agent last told discovery it runs (the proxy report behind status.proxies.versions).
        ...(this.engineReport ? { engine: this.engineReport } : {}),
      },
    };
  }

  stop(): void {
    this.ads?.close();
  }
}
