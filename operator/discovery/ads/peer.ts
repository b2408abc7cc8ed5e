// What every ADS stream does whichever protocol it speaks (state of the world in server.ts, incremental in delta.ts):
// who the proxy is (its first request's node, vetted on the mTLS port), the engine it reports running, and writes
// that count toward the server's bound on buffered bytes.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { FramedResponse } from "../../../proxy/xds/ads.js";
import type { NodeInfo } from "../../../proxy/xds/ads.js";
import { reportFromMetadata, targetText, type EngineTarget } from "../../../proxy/xds/engine.js";
import { scrapeUrl, statsFromMetadata } from "../../../proxy/xds/stats-target.js";
import type { ProxyIdentity } from "../translate/index.js";
import { parseNodeId } from "../translate/index.js";
import { nodeLocality } from "../translate/proxy.js";
import { needsSecretReview } from "../translate/sidecar-credentials.js";
import type { AdsServer } from "./server.js";
import type { SecretDecision } from "./secret-access.js";
import type { Snapshot } from "./snapshot.js";

export type AnyStream = ServerDuplexStream<unknown, unknown>;

/** Who a stream on the mTLS port is, by its certificate: or why it is refused. */
export type StreamPeer = { namespace: string; serviceAccount: string } | { error: string };

/** Vets a stream's node id on the mTLS port: the certificate's identity, or why the stream is refused. */
export type StreamAuthorizer = (stream: AnyStream, nodeId: string) => StreamPeer;

/**
 * Ends a stream with a status the client sees. (grpc-js sends the status an 'error' event sets, when the stream
 * ends: destroy(err) would end it without any.)
 */
export function refuse(stream: AnyStream, code: status, details: string): void {
  stream.emit("error", Object.assign(new Error(details), { code, details }));
}

/** Per type, what was last sent and ACKed: the proxy holds the current config when they are the same. */
export interface TypeVersions {
  sentVersion?: string;
  ackedVersion?: string;
}

export abstract class Peer {
  identity?: ProxyIdentity;
  protected snapshot?: Snapshot;
  private engineReport = "";
  /** The node's bytes in the last request that carried one. */
  private nodeBytes?: Buffer;
  /** Bytes written to this stream and not yet flushed. */
  private unflushed = 0;
  private closed = false;

  constructor(
    readonly id: number,
    protected readonly stream: AnyStream,
    protected readonly server: AdsServer,
    private readonly authorize: StreamAuthorizer | undefined,
  ) {}

  /** Weft's engine type, when the proxy subscribed to it: what was sent last. */
  private engineSub?: { sent?: string; nonce?: string };

  /** Sends every subscribed type whose resources changed. */
  abstract push(): void;
  protected abstract versions(): Iterable<TypeVersions>;
  /** A response of the engine type in this stream's protocol: the desired engine, or none. */
  protected abstract engineResponse(version: string, nonce: string, target: EngineTarget | undefined): Buffer;

  /** A request of the engine type: the first subscribes (and is answered); a NACK is logged. */
  protected onEngineRequest(nonce: string, error: string | undefined): void {
    if (!this.engineSub) {
      this.engineSub = {};
      this.pushEngine();
      return;
    }
    if (nonce && nonce === this.engineSub.nonce && error)
      this.server.log.warn({ node: this.identity?.id, error }, "engine NACK");
  }

  /** Sends the desired engine (one resource, or none) when it changed. */
  pushEngine(): void {
    const sub = this.engineSub;
    if (!sub || !this.identity) return;
    const target = this.server.engineFor?.(this.identity);
    const key = target ? targetText(target) : "";
    if (sub.sent === key) return;
    const version = String(++this.server.engineVersions);
    const nonce = `engine:${version}`;
    this.write(this.engineResponse(version, nonce, target));
    Object.assign(sub, { sent: key, nonce });
  }

  /**
   * Reads who the proxy is from the first request (false: the stream was refused), and the engine it reports from
   * every request that carries a node.
   */
  protected identify(req: { readonly node?: NodeInfo }, nodeBytes: Buffer | undefined): boolean {
    const { tracker, metrics, log } = this.server;
    if (!this.identity) {
      const node = req.node;
      if (!node?.id) {
        refuse(this.stream, status.INVALID_ARGUMENT, "the first request must carry node.id");
        return false;
      }
      const peer = this.authorize?.(this.stream, node.id);
      if (peer && "error" in peer) {
        log.warn({ node: node.id, peer: this.stream.getPeer(), error: peer.error }, "proxy refused");
        refuse(this.stream, status.PERMISSION_DENIED, peer.error);
        return false;
      }
      // Authorized on the mTLS port: the proxy presented its workload certificate, so it can do mutual TLS.
      this.identity = {
        ...parseNodeId(node.id, node.user_agent_name ?? ""),
        mtls: this.authorize !== undefined,
        ...(peer ? { serviceAccount: peer.serviceAccount } : {}),
        ...nodeLocality(node.locality),
      };
      tracker.connect(this.id, this.identity.id);
      const announced = statsFromMetadata(node.metadata);
      const from = this.stream.getPeer();
      const { ip } = this.identity;
      // Resolved when the dashboard scrapes: the pod may reach discovery's model after its proxy connects.
      const vouched = peer && { nodeIp: ip, isOwn: (at: string) => this.server.runsAs(at, peer) };
      tracker.setScrapeTarget(this.id, () => scrapeUrl(announced, from, vouched));
      metrics.connected.set(tracker.size);
      log.info({ node: this.identity.id, connection: this.id }, "proxy connected");
    }
    this.takeEngineReport(req, nodeBytes);
    return true;
  }

  /** The engine the agent reports running, from its node metadata (every request may carry a newer one). */
  private takeEngineReport(req: { readonly node?: NodeInfo }, nodeBytes: Buffer | undefined): void {
    // The node repeated as it was (agents send it with every request): nothing new to read from it, not even decoded.
    if (nodeBytes && this.nodeBytes?.equals(nodeBytes)) return;
    if (nodeBytes) this.nodeBytes = Buffer.from(nodeBytes); // a copy: the request's buffer is grpc-js's
    const node = req.node;
    const raw = node?.metadata?.fields?.["WEFT_ENGINE"]?.stringValue ?? "";
    if (raw === this.engineReport) return;
    this.engineReport = raw;
    const report = reportFromMetadata(node?.metadata);
    this.server.tracker.engine(this.id, report);
    if (report && this.identity)
      this.server.log.info(
        { node: this.identity.id, engine: report.engine, phase: report.phase, error: report.error },
        "proxy engine",
      );
  }

  /** The identity translated for: with its ServiceAccount's answer on its namespace's Secrets (see below). */
  private reviewed?: { decision: SecretDecision; identity: ProxyIdentity };
  /** Its ServiceAccount's answer matters to its config: asked again when it expires, while the proxy is connected. */
  reviewsSecrets = false;

  /**
   * Who the proxy is to translation. On the mTLS port, where discovery reviews Secret access (Kubernetes mode), a
   * gateway is so with its ServiceAccount's answer, and so is a sidecar that a DestinationRule of its namespace with
   * a workloadSelector and a credentialName selects (needsSecretReview; any other sidecar is not reviewed, and
   * waits for nothing): denied, it carries why (credentialsDenied) and gets no Secret; an allowed sidecar is marked
   * (credentialsAllowed). Undefined until that answer comes: its response waits for it (the server pushes it then).
   */
  private translatedIdentity(): ProxyIdentity | undefined {
    const id = this.identity;
    const access = this.server.secretAccess;
    if (!id || !access || !id.mtls || id.serviceAccount === undefined) return id;
    const gateway = id.kind === "router";
    this.reviewsSecrets = gateway || needsSecretReview(this.server.generator.current, id);
    if (!this.reviewsSecrets) {
      if (this.reviewed) this.server.tracker.credentialsDenied(this.id, undefined);
      this.reviewed = undefined;
      return id;
    }
    const decision = access.decision(id.serviceAccount, id.namespace);
    if (!decision) return undefined;
    if (this.reviewed?.decision !== decision) {
      // An allowed gateway is the identity itself, so the proxy shares its class's translation as before.
      const allowed = gateway ? id : { ...id, credentialsAllowed: true };
      this.reviewed = {
        decision,
        identity: decision.allowed ? allowed : { ...id, credentialsDenied: decision.reason },
      };
      this.server.tracker.credentialsDenied(this.id, decision.reason);
      if (!decision.allowed)
        this.server.log.warn(
          { node: id.id, serviceAccount: id.serviceAccount, namespace: id.namespace, reason: decision.reason },
          gateway
            ? "gateway Secrets denied: its credentialName servers are left out"
            : "sidecar Secrets denied: connections of its credentialName clusters are refused",
        );
    }
    return this.reviewed.identity;
  }

  /** The snapshot for this proxy (API listeners depend on the LDS names); undefined when none could be built. */
  protected buildSnapshot(ldsNames: string[]): Snapshot | undefined {
    const { generator, tracker, log } = this.server;
    const id = this.translatedIdentity();
    if (!id) return undefined;
    try {
      this.snapshot = generator.snapshotFor(id, ldsNames);
      tracker.snapshot(this.id, undefined);
    } catch (err) {
      tracker.snapshot(this.id, (err as Error).message);
      if (!this.server.logged.has(err as Error)) {
        this.server.logged.add(err as Error);
        log.warn(
          { node: id.id, error: (err as Error).message },
          "snapshot not built; proxies of this kind keep their previous one",
        );
      }
    }
    return this.snapshot;
  }

  protected write(bytes: Buffer | FramedResponse): void {
    const n = bytes instanceof FramedResponse ? bytes.frame.length : bytes.length;
    this.unflushed += n;
    this.server.buffered(n);
    this.stream.write(bytes, () => {
      if (this.closed) return;
      this.unflushed -= n;
      this.server.flushed(n);
    });
  }

  /** The stream is gone: whatever it still held is no longer buffered. */
  closedDown(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.flushed(this.unflushed);
    this.unflushed = 0;
  }

  end(): void {
    this.stream.end();
  }

  /** When everything sent is ACKed, the proxy holds the current generation's config. */
  protected markCurrent(): void {
    if (!this.snapshot || this.snapshot.version !== this.server.generator.version) return;
    for (const sub of this.versions())
      if (sub.sentVersion !== undefined && sub.ackedVersion !== sub.sentVersion) return;
    this.server.tracker.atVersion(this.id, this.server.generator.version);
  }
}
