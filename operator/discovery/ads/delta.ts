// Incremental ADS (DeltaAggregatedResources): per type, the server knows what the proxy holds, and sends only the
// resources that changed and the names that went away. ACKs carry a nonce and nothing else.
//
// What a proxy holds is, almost always, one selection of a snapshot (the last one sent, once it ACKs): proxies of a
// class hold the same one, so the response taking them to the next is computed and encoded once for all of them
// (deltaSince). Holdings are tracked name by name only after a reconnection that says what it holds
// (initial_resource_versions) or a NACK; the next response brings such a proxy back to a selection.
import { status } from "@grpc/grpc-js";
import { FramedResponse, encodeDeltaResponse } from "../../../proxy/xds/ads.js";
import { encodeResource } from "../../../proxy/xds/codec.js";
import { type DeltaDiscoveryRequest, type DeltaResource } from "../../../proxy/xds/delta.js";
import type { RawDeltaRequest } from "../../../proxy/xds/request.js";
import { ENGINE_TYPE, engineResource, targetText, type EngineTarget } from "../../../proxy/xds/engine.js";
import { SHORT_NAME, TYPE, WARMING_ORDER, isSnapshotType, type SnapshotType } from "../../../proxy/xds/types.js";
import { Peer, refuse, type TypeVersions } from "./peer.js";
import {
  NOTHING,
  deltaFrom,
  deltaSince,
  holdings,
  rewarm,
  selectResources,
  type Delta,
  type Selection,
} from "./snapshot.js";

interface DeltaSubscription extends TypeVersions {
  /** Everything of the type (CDS and LDS, asked with no names or "*"), or the names in `names`. */
  wildcard: boolean;
  names: string[];
  /** What the proxy holds once it has applied what was sent: a selection, or name → hash (see above). */
  held: Selection | Map<string, string>;
  /** What was last sent: nothing is sent again until the selection changes. Undefined: answer the next push. */
  sent?: Selection;
  /** Responses not yet answered, by nonce: their version and what they carry (for a NACK). */
  unanswered: Map<string, { version: string; delta: Delta }>;
}

/** The name of the one engine resource (proxy/xds/engine.ts). */
const ENGINE = "engine";

export class DeltaConnection extends Peer {
  private readonly subs = new Map<SnapshotType, DeltaSubscription>();
  /** Responses sent on this stream alone (not shared), for their nonces. */
  private own = 0;

  protected versions(): Iterable<TypeVersions> {
    return this.subs.values();
  }

  onRequest(req: RawDeltaRequest): void {
    if (req.unsupported.length > 0) {
      refuse(this.stream, status.INVALID_ARGUMENT, `not supported: ${[...new Set(req.unsupported)].join(", ")}`);
      return;
    }
    if (!this.identify(req, req.nodeBytes) || !this.identity) return;
    const type = req.type_url;
    if (type === ENGINE_TYPE) return this.onEngineRequest(req.response_nonce, req.error_detail?.message);
    if (!isSnapshotType(type)) return;
    let sub = this.subs.get(type);
    if (req.response_nonce && sub) this.answered(type, sub, req);
    if (!sub) {
      sub = this.subscribe(type, req);
      this.subs.set(type, sub);
      if (type === TYPE.listener) this.snapshot = undefined; // API listeners depend on the names
      this.push();
    } else if (this.resubscribe(sub, req)) {
      if (type === TYPE.listener) this.snapshot = undefined;
      this.push();
    }
  }

  /** The first request of a type on this stream. */
  private subscribe(type: SnapshotType, req: DeltaDiscoveryRequest): DeltaSubscription {
    const asked = req.resource_names_subscribe;
    // CDS and LDS with no names is everything (the legacy wildcard Envoy sends); "*" is everything for any type.
    const wildcard = asked.includes("*") || (asked.length === 0 && (type === TYPE.cluster || type === TYPE.listener));
    const initial = Object.entries(req.initial_resource_versions ?? {});
    return {
      wildcard,
      names: sorted(asked.filter((n) => n !== "*")),
      held: initial.length > 0 ? new Map(initial) : NOTHING,
      unanswered: new Map(),
    };
  }

  /** Applies a later request's subscribe and unsubscribe; true when the names changed (they are answered). */
  private resubscribe(sub: DeltaSubscription, req: DeltaDiscoveryRequest): boolean {
    const add = req.resource_names_subscribe;
    const drop = req.resource_names_unsubscribe;
    if (add.length === 0 && drop.length === 0) return false;
    const wildcard = (sub.wildcard || add.includes("*")) && !drop.includes("*");
    const names = new Set(sub.names);
    for (const n of drop) names.delete(n);
    for (const n of add) if (n !== "*") names.add(n);
    const next = sorted([...names]);
    if (wildcard === sub.wildcard && next.length === sub.names.length && next.every((n, i) => n === sub.names[i]))
      return false;
    Object.assign(sub, { wildcard, names: next, sent: undefined });
    return true;
  }

  /** An ACK or NACK of a response of ours. */
  private answered(type: SnapshotType, sub: DeltaSubscription, req: DeltaDiscoveryRequest): void {
    const { tracker, metrics, log } = this.server;
    const response = sub.unanswered.get(req.response_nonce);
    if (!response) return; // not ours, or answered already
    sub.unanswered.delete(req.response_nonce);
    const error =
      req.error_detail && (req.error_detail.message || req.error_detail.code) ? req.error_detail : undefined;
    if (!error) {
      sub.ackedVersion = response.version;
      tracker.acked(this.id, type, response.version);
      this.markCurrent();
      return;
    }
    const message = error.message || `code ${error.code}`;
    tracker.nacked(this.id, type, response.version, message);
    metrics.nacks.inc({ type: SHORT_NAME[type] ?? type });
    log.warn({ node: this.identity?.id, type: SHORT_NAME[type], version: response.version, error: message }, "NACK");
    // The proxy kept what it held before: what the response carried is no longer known to be there, and goes again
    // with the next change (not at once: the same response would be NACKed again).
    const held = sub.held instanceof Map ? sub.held : holdings(sub.held);
    for (const e of response.delta.entries) held.set(e.name, "");
    for (const n of response.delta.removed) held.set(n, "");
    sub.held = held;
  }

  protected engineResponse(version: string, nonce: string, target: EngineTarget | undefined): Buffer {
    return encodeDeltaResponse({
      system_version_info: version,
      type_url: ENGINE_TYPE,
      nonce,
      resources: target
        ? [{ name: ENGINE, version: targetText(target), resource: encodeResource(engineResource(target)) }]
        : [],
      removed_resources: target ? [] : [ENGINE],
    });
  }

  /** Sends, in warming order, what changed of every subscribed type. */
  push(): void {
    if (!this.identity) return;
    if (!this.server.admit(this)) return; // pushed again once buffered bytes drain
    const started = process.hrtime.bigint();
    const { tracker, metrics } = this.server;
    const lds = this.subs.get(TYPE.listener);
    const snapshot = this.buildSnapshot(lds && !lds.wildcard ? lds.names : []);
    if (!snapshot) return;
    let sent = false;
    let clusters: Delta | undefined; // the CDS delta sent in this push, if any
    for (const type of WARMING_ORDER) {
      const sub = this.subs.get(type);
      if (!sub) continue;
      const selection = selectResources(snapshot, type, sub.wildcard ? "*" : sub.names);
      const warming = type === TYPE.endpoint && clusters !== undefined && clusters.entries.length > 0;
      if (sub.sent && selection.hash === sub.sent.hash && !warming) continue;
      const held = sub.held;
      const shared = !(held instanceof Map);
      let delta = shared ? deltaSince(selection, held) : deltaFrom(selection, held);
      let nonce = shared
        ? `${snapshot.version}:${selection.id}:d${held.id}`
        : `${snapshot.version}:${selection.id}:s${this.id}.${++this.own}`;
      if (warming && clusters) {
        const before = delta;
        delta = rewarm(delta, selection, clusters, shared ? nonce : undefined);
        if (delta !== before && shared) nonce += ":w";
      }
      const answer = sub.sent === undefined; // a new subscription is answered, even with nothing
      sub.sent = selection;
      sub.held = selection;
      if (delta.entries.length === 0 && delta.removed.length === 0 && !answer) continue;
      if (type === TYPE.cluster) clusters = delta;
      const response = shared
        ? (delta.response ??= encode(snapshot.version, type, nonce, delta))
        : encode(snapshot.version, type, nonce, delta);
      this.write(response);
      sub.unanswered.set(nonce, { version: snapshot.version, delta });
      // A proxy answers each response in turn; one that doesn't can't make this grow without bound.
      if (sub.unanswered.size > 64) sub.unanswered.delete(sub.unanswered.keys().next().value as string);
      sub.sentVersion = snapshot.version;
      tracker.sent(this.id, type, snapshot.version);
      metrics.pushes.inc({ type: SHORT_NAME[type] ?? type });
      sent = true;
    }
    if (sent) metrics.pushTime.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.markCurrent();
  }
}

function encode(version: string, type: string, nonce: string, delta: Delta): FramedResponse {
  const resources: DeltaResource[] = delta.entries.map((e) => ({ name: e.name, version: e.hash, resource: e.any }));
  return new FramedResponse(
    encodeDeltaResponse({
      system_version_info: version,
      type_url: type,
      nonce,
      resources,
      removed_resources: delta.removed,
    }),
  );
}

const sorted = (names: string[]): string[] => [...names].sort();
