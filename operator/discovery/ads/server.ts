// State-of-the-world ADS: one stream per proxy carrying every type. Versions and nonces per type; ACK/NACK as
// the xDS protocol defines them; pushes in warming order (CDS → EDS → LDS → RDS), only for what changed.
import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../../proxy/xds/ads.js";
import { FramedResponse, encodeResponse } from "../../../proxy/xds/ads.js";
import type { SnapshotType } from "../../../proxy/xds/types.js";
import { encodeResource } from "../../../proxy/xds/codec.js";
import { ENGINE_TYPE, engineResource, type EngineTarget } from "../../../proxy/xds/engine.js";
import { SHORT_NAME, TYPE, WARMING_ORDER } from "../../../proxy/xds/types.js";
import type { ProxyIdentity } from "../translate/index.js";
import { findWorkloadAt } from "../translate/proxy.js";
import type { SnapshotGenerator } from "./generator.js";
import type { XdsMetrics } from "./metrics.js";
import type { Entry } from "./snapshot.js";
import { changesSince, selectResources } from "./snapshot.js";
import { PARENT, isSnapshotType, rawOf, sameNames, subscribedNames, type Subscription } from "./subscription.js";
import type { SyncTracker } from "./tracker.js";
import { shareFrames } from "./frames.js";
import { Peer, type AnyStream, type StreamAuthorizer } from "./peer.js";
import { DeltaConnection } from "./delta.js";
import { SecretAccess, type SecretReview } from "./secret-access.js";

type Stream = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse | Buffer | FramedResponse>;
export type { StreamAuthorizer, StreamPeer } from "./peer.js";

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const SILENT: Logger = { info: () => undefined, warn: () => undefined };

/** A state-of-the-world stream. */
class Connection extends Peer {
  private readonly subs = new Map<SnapshotType, Subscription>();

  protected versions(): Iterable<Subscription> {
    return this.subs.values();
  }

  onRequest(req: DiscoveryRequest): void {
    const { tracker, metrics, log } = this.server;
    if (!this.identify(req, rawOf(req).nodeBytes) || !this.identity) return;
    const type = req.type_url;
    if (type === ENGINE_TYPE) return this.onEngineRequest(req.response_nonce, req.error_detail?.message);
    if (!isSnapshotType(type)) return;
    const sub = this.subs.get(type);
    if (sub && req.response_nonce && req.response_nonce !== sub.nonce) return; // stale: ignore
    if (sub && req.response_nonce) {
      if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
        const error = req.error_detail.message ?? `code ${req.error_detail.code}`;
        tracker.nacked(this.id, type, req.version_info, error);
        metrics.nacks.inc({ type: SHORT_NAME[type] ?? type });
        log.warn({ node: this.identity.id, type: SHORT_NAME[type], version: sub.sentVersion, error }, "NACK");
      } else {
        sub.ackedVersion = req.version_info;
        sub.acked = sub.sent;
        tracker.acked(this.id, type, req.version_info);
        this.markCurrent();
      }
    }
    // Most requests are ACKs that repeat the names: the same bytes, so not even decoded.
    const namesBytes = rawOf(req).namesBytes;
    if (sub && namesBytes && sub.namesBytes?.equals(namesBytes)) return;
    const names = subscribedNames(type, req.resource_names ?? []);
    const bytes = namesBytes && Buffer.from(namesBytes); // a copy: the request's buffer is grpc-js's
    if (sub) sub.namesBytes = bytes;
    if (!sub || !sameNames(sub.names, names)) {
      // A new or changed subscription is answered, even when the answer is empty.
      this.subs.set(type, { ...(sub ?? {}), names, namesBytes: bytes, sent: undefined, acked: undefined });
      if (type === TYPE.listener) this.snapshot = undefined; // API listeners depend on the names
      this.push();
    }
  }

  protected engineResponse(version: string, nonce: string, target: EngineTarget | undefined): Buffer {
    return encodeResponse({
      version_info: version,
      resources: target ? [encodeResource(engineResource(target))] : [],
      type_url: ENGINE_TYPE,
      nonce,
    });
  }

  /** Sends every subscribed type whose resources changed, in warming order. */
  push(): void {
    if (!this.identity) return;
    if (!this.server.admit(this)) return; // pushed again once buffered bytes drain
    const started = process.hrtime.bigint();
    const { tracker, metrics } = this.server;
    const lds = this.subs.get(TYPE.listener)?.names;
    const snapshot = this.buildSnapshot(lds && lds !== "*" ? lds : []);
    if (!snapshot) return;
    const sentTypes = new Set<SnapshotType>();
    for (const type of WARMING_ORDER) {
      const sub = this.subs.get(type);
      if (!sub) continue;
      const selection = selectResources(snapshot, type, sub.names);
      if (selection.hash === sub.sent?.hash) continue;
      // The proxy holds what it last ACKed or, once it applies it, the response it hasn't answered yet: the changes
      // count from both (from the ACKed alone, a change undone before the ACK would never reach it).
      const acked = sub.sent && sub.acked;
      const unanswered = acked && sub.sent !== acked ? sub.sent : undefined;
      const before = acked ? (unanswered ? [acked, unanswered] : [acked]) : undefined;
      // One response, nonce included, serves every proxy that gets this selection (or these changes): the nonce
      // names the content, so a stream never sees one nonce for two different responses.
      const parent = PARENT[type];
      const changes = before && parent && !sentTypes.has(parent) ? changesSince(selection, ...before) : undefined;
      if (changes?.entries.length === 0 && sub.sentVersion === sub.ackedVersion) {
        sub.sent = selection; // a subscribed name left the snapshot: its resource stays until the name goes
        continue;
      }
      const nonce = `${snapshot.version}:${selection.id}${changes ? `:${before?.map((b) => b.id).join("+")}` : ""}`;
      const encode = (entries: Entry[]): FramedResponse =>
        new FramedResponse(
          encodeResponse({
            version_info: snapshot.version,
            resources: entries.map((e) => e.any),
            type_url: type,
            nonce,
          }),
        );
      const response = changes
        ? (changes.response ??= encode(changes.entries))
        : (selection.response ??= encode(selection.entries));
      this.write(response);
      Object.assign(sub, { nonce, sent: selection, sentVersion: snapshot.version });
      tracker.sent(this.id, type, snapshot.version);
      metrics.pushes.inc({ type: SHORT_NAME[type] ?? type });
      sentTypes.add(type);
    }
    const sent = sentTypes.size > 0;
    if (sent) metrics.pushTime.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.markCurrent();
  }
}

export interface AdsServerOptions {
  generator: SnapshotGenerator;
  tracker: SyncTracker;
  metrics: XdsMetrics;
  log?: Logger;
  /**
   * Bytes handed to streams but not yet flushed, across all proxies, above which pushes wait. Bounds memory when
   * many proxies need large pushes at once. Default 8 MiB.
   */
  maxBufferedBytes?: number;
  /** The engine a proxy should run (proxy/xds/engine.ts); none when unset or undefined. */
  engineFor?: (proxy: ProxyIdentity) => EngineTarget | undefined;
  /**
   * Kubernetes mode: a gateway on the mTLS port gets its namespace's Secrets only when its ServiceAccount may list
   * them (ads/secret-access.ts), and so does a sidecar a selector DestinationRule's credentialName is for. Unset
   * (local mode): a gateway's certificate's namespace is enough; a sidecar gets none.
   */
  reviewSecrets?: { review: SecretReview; deniedTtlMs?: number };
}

export class AdsServer {
  readonly generator: SnapshotGenerator;
  readonly tracker: SyncTracker;
  readonly metrics: XdsMetrics;
  readonly log: Logger;
  private readonly connections = new Map<number, Peer>();
  private nextId = 0;
  /** Snapshot errors already logged: one line per failure, not one per proxy. */
  readonly logged = new WeakSet<Error>();
  private readonly maxBuffered: number;
  readonly engineFor?: (proxy: ProxyIdentity) => EngineTarget | undefined;
  /** Versions of engine responses: one counter for the server, so a nonce is never reused. */
  engineVersions = 0;
  private bufferedBytes = 0;
  /** Said once: grpc-js copies each response per stream (frames.ts). */
  private copiesFrames = false;
  /** Connections whose push waits for buffered bytes to drain, in arrival order. */
  private readonly waiting = new Set<Peer>();
  /** Which gateways' (and selected sidecars') ServiceAccounts may have their namespace's Secrets (Kubernetes mode). */
  readonly secretAccess?: SecretAccess;

  constructor(options: AdsServerOptions) {
    this.generator = options.generator;
    this.tracker = options.tracker;
    this.metrics = options.metrics;
    this.log = options.log ?? SILENT;
    this.maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.engineFor = options.engineFor;
    const review = options.reviewSecrets;
    if (review)
      this.secretAccess = new SecretAccess({
        ...review,
        log: this.log,
        // A new answer reaches that ServiceAccount's proxies at once: the first one is what they wait for.
        changed: (ns, sa) => this.ofServiceAccount(ns, sa).forEach((conn) => conn.push()),
        wanted: (ns, sa) => this.ofServiceAccount(ns, sa).some((conn) => conn.reviewsSecrets),
      });
  }

  private ofServiceAccount(namespace: string, serviceAccount: string): Peer[] {
    return [...this.connections.values()].filter(
      (c) => c.identity?.namespace === namespace && c.identity.serviceAccount === serviceAccount,
    );
  }

  /** May this connection push now? If not, it is queued and pushed when bytes drain. */
  admit(conn: Peer): boolean {
    if (this.bufferedBytes < this.maxBuffered && (this.waiting.size === 0 || this.waiting.has(conn))) {
      this.waiting.delete(conn);
      return true;
    }
    this.waiting.add(conn);
    return false;
  }

  buffered(bytes: number): void {
    this.bufferedBytes += bytes;
  }

  flushed(bytes: number): void {
    this.bufferedBytes -= bytes;
    while (this.bufferedBytes < this.maxBuffered && this.waiting.size > 0) {
      const [next] = this.waiting;
      if (!next) break;
      if (this.connections.has(next.id)) next.push();
      else this.waiting.delete(next);
    }
  }

  /** Is the workload at `ip` in the current model a Pod that runs as this identity (namespace and ServiceAccount)? */
  runsAs(ip: string, identity: { namespace: string; serviceAccount: string }): boolean {
    const w = findWorkloadAt(this.generator.current, ip);
    return w?.pod === true && w.namespace === identity.namespace && w.serviceAccount === identity.serviceAccount;
  }

  /** Handlers for `grpcServer.addService(adsService, ...)`; `authorize` vets each stream's node id (mTLS port). */
  handlers(authorize?: StreamAuthorizer): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (stream: Stream) => {
        const conn = new Connection(++this.nextId, stream as AnyStream, this, authorize);
        this.stream(stream, conn, (req: DiscoveryRequest) => conn.onRequest(req));
      },
      DeltaAggregatedResources: (stream: AnyStream) => {
        const conn = new DeltaConnection(++this.nextId, stream, this, authorize);
        this.stream(stream, conn, (req) => conn.onRequest(req as Parameters<DeltaConnection["onRequest"]>[0]));
      },
    };
  }

  private stream<T>(stream: ServerDuplexStream<T, unknown>, conn: Peer, onRequest: (req: T) => void): void {
    if (!shareFrames(stream) && !this.copiesFrames) {
      this.copiesFrames = true;
      this.log.warn({}, "this grpc-js frames every response anew: each push copies its responses once per proxy");
    }
    this.connections.set(conn.id, conn);
    const close = (): void => {
      if (!this.connections.delete(conn.id)) return;
      this.waiting.delete(conn);
      conn.closedDown();
      this.tracker.disconnect(conn.id);
      this.metrics.connected.set(this.tracker.size);
      if (conn.identity) this.log.info({ node: conn.identity.id, connection: conn.id }, "proxy disconnected");
    };
    stream.on("data", onRequest);
    stream.on("end", () => {
      close();
      stream.end();
    });
    stream.on("error", close);
    stream.on("cancelled", close);
    stream.on("close", close);
  }

  /**
   * Pushes the current generation to every connected proxy; proxies whose resources didn't change get nothing.
   * Works in batches, yielding between them, so the first proxies' bytes leave while later ones are prepared.
   */
  async pushAll(batch = 50): Promise<void> {
    let n = 0;
    for (const conn of [...this.connections.values()]) {
      if (this.connections.has(conn.id)) conn.push();
      if (++n % batch === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sends each proxy its desired engine where that changed (the engineFor answers changed). */
  pushEngines(): void {
    for (const conn of this.connections.values()) conn.pushEngine();
  }

  /** Ends every stream, so proxies reconnect elsewhere. */
  closeAll(): void {
    this.secretAccess?.close();
    for (const conn of [...this.connections.values()]) conn.end();
  }
}
