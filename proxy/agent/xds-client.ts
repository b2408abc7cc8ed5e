// The agent's ADS client: one StreamAggregatedResources stream to discovery. It subscribes to CDS and LDS
// (wildcard), then to EDS and RDS by the names those reference; validates each response with the engine's
// compiler; hands the engine a config only once it is consistent (warming); ACKs or NACKs; and reconnects with
// backoff, while the engine keeps serving the last good config.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream } from "@grpc/grpc-js";
import type { Resources } from "../engine/config/types.js";
import { adsService, type DiscoveryRequest, type DiscoveryResponse, type NodeInfo } from "../xds/ads.js";
import { decodeResource } from "../xds/codec.js";
import { TYPE, WARMING_ORDER, SHORT_NAME, type JsonObject, type SnapshotType } from "../xds/types.js";
import { ENGINE_TYPE, parseTarget, reportMetadata, type EngineReport, type EngineTarget } from "../xds/engine.js";
import { XdsState, isSnapshotType, type Shape } from "./xds-state.js";

const AdsClient = makeGenericClientConstructor(adsService, "AggregatedDiscoveryService");
type Stream = ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export interface XdsClientOptions {
  /** host:port of discovery's plaintext xDS. */
  address: string;
  node: NodeInfo;
  /** Takes a consistent config; throws (the message becomes the NACK) when the engine can't. */
  apply(resources: Resources): Promise<void>;
  /** What this proxy makes of the served resources before checking and applying them. Default: as served. */
  shape?: Shape;
  log?(line: string): void;
  /** Reconnect backoff: base and ceiling in ms. Default 100 ms, 5 s. */
  backoffMs?: [number, number];
  /** Subscribes to Weft's engine type (proxy/xds/engine.ts) and gets the desired engine (undefined: none). */
  engine?(target: EngineTarget | undefined): void;
}

export class XdsClient {
  readonly state: XdsState;
  private client: InstanceType<typeof AdsClient> | undefined;
  private stream: Stream | undefined;
  private failures = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private handling: Promise<void> = Promise.resolve();
  private subscribed = new Map<SnapshotType, string>();
  /** The engine type's last response: its version and nonce, echoed by every later request for it. */
  private engineAck: { version: string; nonce: string } | undefined;
  /** The version the engine serves ("" until the first consistent config). */
  applied = "";
  connected = false;

  /** Sent with every request; its metadata carries the engine report. */
  private node: NodeInfo;

  constructor(private readonly opts: XdsClientOptions) {
    this.node = opts.node;
    this.state = new XdsState(opts.shape);
  }

  start(): void {
    this.connect();
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private connect(): void {
    if (this.stopped) return;
    const client = new AdsClient(this.opts.address, credentials.createInsecure());
    const method = (client as unknown as Record<string, () => Stream>)["StreamAggregatedResources"] as () => Stream;
    const stream = method.call(client);
    this.client = client;
    this.stream = stream;
    this.subscribed.clear();
    stream.on("data", (r: DiscoveryResponse) => {
      this.connected = true;
      this.failures = 0;
      this.handling = this.handling.then(() => this.onResponse(stream, r)).catch((err: unknown) => this.log(`xds: ${String(err)}`));
    });
    let closed = false;
    const lost = (why: string): void => {
      if (closed) return;
      closed = true;
      this.connected = false;
      client.close();
      if (this.stopped) return;
      const [base, max] = this.opts.backoffMs ?? [100, 5000];
      const delay = Math.min(base * 2 ** this.failures++, max);
      this.log(`xds: stream to ${this.opts.address} lost (${why}); reconnecting in ${delay} ms`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
    stream.on("error", (err: Error) => lost(err.message));
    stream.on("end", () => lost("ended"));
    // Tell the server what we have, so it can resume: CDS and LDS first, then EDS/RDS by name.
    for (const type of WARMING_ORDER) this.subscribe(stream, type, true);
    this.engineAck = undefined;
    if (this.opts.engine) this.send(stream, { type_url: ENGINE_TYPE, resource_names: [], version_info: "", response_nonce: "" });
  }

  /** What the agent runs, in node.metadata of every request from now on; sent at once on the engine type. */
  reportEngine(r: EngineReport): void {
    this.node = { ...this.node, metadata: reportMetadata(r) };
    const s = this.stream;
    if (s && this.opts.engine && this.engineAck) this.send(s, { type_url: ENGINE_TYPE, resource_names: [], version_info: this.engineAck.version, response_nonce: this.engineAck.nonce });
  }

  /** (Re)subscribes to a type when its names changed (or on a new stream); CDS/LDS always, EDS/RDS once named. */
  private subscribe(stream: Stream, type: SnapshotType, initial = false): void {
    const names = this.state.names(type);
    const key = names.join("\n");
    if (this.subscribed.get(type) === key) return;
    if ((type === TYPE.endpoint || type === TYPE.route) && names.length === 0 && !this.subscribed.has(type)) return;
    this.subscribed.set(type, key);
    const s = this.state.types.get(type);
    this.send(stream, { type_url: type, resource_names: names, version_info: s?.version ?? "", response_nonce: initial ? "" : (s?.nonce ?? "") });
  }

  private send(stream: Stream, r: Omit<DiscoveryRequest, "node">): void {
    if (stream !== this.stream) return;
    stream.write({ ...r, node: this.node });
  }

  private async onResponse(stream: Stream, r: DiscoveryResponse): Promise<void> {
    const type = r.type_url;
    if (type === ENGINE_TYPE && this.opts.engine) return this.onEngine(stream, r);
    if (!isSnapshotType(type)) {
      this.send(stream, { type_url: type, resource_names: [], version_info: "", response_nonce: r.nonce, error_detail: { code: 12, message: `unsupported type ${type}` } });
      return;
    }
    const error = await this.take(type, r);
    const s = this.state.types.get(type);
    const ack = { type_url: type, resource_names: this.state.names(type), response_nonce: r.nonce };
    if (error) {
      this.state.reject(type, r.nonce, error);
      this.log(`xds: NACK ${SHORT_NAME[type]} version ${r.version_info}: ${error}`);
      this.send(stream, { ...ack, version_info: s?.version ?? "", error_detail: { code: 3, message: error } });
      return;
    }
    this.send(stream, { ...ack, version_info: r.version_info });
    this.subscribed.set(type, ack.resource_names.join("\n"));
    this.subscribe(stream, TYPE.endpoint);
    this.subscribe(stream, TYPE.route);
  }

  /** The desired engine: at most one resource. ACKed when it parses; what the agent makes of it, it reports. */
  private onEngine(stream: Stream, r: DiscoveryResponse): void {
    let target: EngineTarget | undefined;
    let error: string | undefined;
    try {
      const decoded = r.resources.map((any) => decodeResource(any));
      if (decoded.length > 1) error = `${decoded.length} engines; want at most one`;
      const raw = decoded[0];
      target = raw && parseTarget({ version: raw["version"], binaryPath: raw["binary_path"] });
      if (raw && !target) error = `engine ${JSON.stringify(raw)}: version must be a plain name, binary_path an absolute path`;
    } catch (err) {
      error = `cannot decode: ${(err as Error).message}`;
    }
    if (error) {
      this.log(`xds: NACK engine version ${r.version_info}: ${error}`);
      this.send(stream, { type_url: ENGINE_TYPE, resource_names: [], version_info: this.engineAck?.version ?? "", response_nonce: r.nonce, error_detail: { code: 3, message: error } });
      return;
    }
    this.engineAck = { version: r.version_info, nonce: r.nonce };
    this.send(stream, { type_url: ENGINE_TYPE, resource_names: [], version_info: r.version_info, response_nonce: r.nonce });
    this.opts.engine?.(target);
  }

  /** Validates and commits one response, and applies the whole when consistent; the error to NACK with. */
  private async take(type: SnapshotType, r: DiscoveryResponse): Promise<string | undefined> {
    let decoded: JsonObject[];
    try {
      decoded = r.resources.map((any) => decodeResource(any));
    } catch (err) {
      return `${SHORT_NAME[type]}: cannot decode: ${(err as Error).message}`;
    }
    const next = this.state.candidate(type, decoded);
    const invalid = this.state.validate(type, next);
    if (invalid) return invalid;
    const before = this.state.commit(type, r.version_info, r.nonce, next);
    const whole = this.state.consistent();
    if (!whole) return undefined; // warming: wait for the EDS/RDS this needs
    const shaped = this.state.shape(whole);
    // Valid alone but not yet with the rest (CDS dropped a cluster the current LDS still names): ACK, and wait
    // for the types that follow in warming order to make the whole consistent again.
    const pending = this.state.check(shaped);
    if (pending) {
      this.log(`xds: ${SHORT_NAME[type]} version ${r.version_info} accepted; waiting for the rest (${pending})`);
      return undefined;
    }
    try {
      await this.opts.apply(shaped);
      this.applied = whole.version ?? "";
      return undefined;
    } catch (err) {
      this.state.restore(type, before);
      return `${SHORT_NAME[type]}: ${(err as Error).message}`;
    }
  }

  /** For /config_dump. */
  dump(): Record<string, unknown> {
    return { xds: { server: this.opts.address, node: this.opts.node.id, connected: this.connected, applied_version: this.applied, types: this.state.summary() } };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    this.client?.close();
  }
}
