// Incremental ("delta") ADS: the DeltaAggregatedResources messages, typed once for the server (operator/discovery/ads/
// delta.ts) and the agent's client (client.ts). A response carries only the resources that changed and the names
// that went away; an ACK carries only a nonce. At 2,000 services a state-of-the-world ACK repeats 2,400 names
// (170 KB) after every push; a delta ACK is a few dozen bytes. Here: the messages' types, the client's side of the
// wire (as ads-wire.ts, no protobufjs), and what a client holds; the server reads requests with request.ts and
// writes responses with ads.ts.
import { LEN, WireReader, WireWriter } from "./wire.js";
import { writeNode, writeStatus, readAny, type NodeInfo } from "./ads-wire.js";
import type { AnyMessage } from "./types.js";

export interface DeltaDiscoveryRequest {
  node?: NodeInfo;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  /** What the client holds, name → version, on the first request of a type on a new stream. */
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: { code?: number; message?: string };
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: AnyMessage;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: DeltaResource[];
  removed_resources: string[];
}

export const DELTA_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

/** A client's request, written as protobufjs writes it (the server reads it with request.ts). */
export function encodeDeltaRequest(r: Partial<DeltaDiscoveryRequest>): Buffer {
  return new WireWriter()
    .message(1, r.node, writeNode)
    .string(2, r.type_url)
    .strings(3, r.resource_names_subscribe)
    .strings(4, r.resource_names_unsubscribe)
    .each(5, Object.entries(r.initial_resource_versions ?? {}), (e, [k, v]) => e.string(1, k).string(2, v))
    .string(6, r.response_nonce)
    .message(7, r.error_detail, writeStatus)
    .finish();
}

/** envoy.service.discovery.v3.Resource: version = 1, resource = 2, name = 3 (no resource: null, as protobufjs). */
function readResource(r: WireReader): DeltaResource {
  const out = { name: "", version: "", resource: null as unknown as AnyMessage };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.version = r.string();
    else if (tag === ((2 << 3) | LEN)) out.resource = readAny(r.sub());
    else if (tag === ((3 << 3) | LEN)) out.name = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

/** A response as a client reads it (the fields it uses, each defaulting to its zero). */
export function decodeDeltaResponse(bytes: Buffer): DeltaDiscoveryResponse {
  const r = new WireReader(bytes);
  const out: DeltaDiscoveryResponse = {
    system_version_info: "",
    type_url: "",
    nonce: "",
    resources: [],
    removed_resources: [],
  };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.system_version_info = r.string();
    else if (tag === ((2 << 3) | LEN)) out.resources.push(readResource(r.sub()));
    else if (tag === ((4 << 3) | LEN)) out.type_url = r.string();
    else if (tag === ((5 << 3) | LEN)) out.nonce = r.string();
    else if (tag === ((6 << 3) | LEN)) out.removed_resources.push(r.string());
    else r.skip(tag & 7);
  }
  return out;
}

/** What a client holds of one type: name → the version and resource the server sent. */
export type Held = ReadonlyMap<string, { version: string; resource: AnyMessage }>;

/**
 * A delta response applied to what a client holds: what it will hold if it takes the response, and the response as
 * a state-of-the-world client reads one (`resources`: all it would hold for a type asked for whole, or only the
 * changed ones for a type asked by name, as SotW's EDS and RDS responses carry them).
 */
export function applyDelta(
  held: Held,
  r: DeltaDiscoveryResponse,
  whole: boolean,
): { held: Held; resources: AnyMessage[] } {
  const next = new Map(held);
  for (const name of r.removed_resources) next.delete(name);
  for (const x of r.resources) {
    if (!x.resource?.type_url) throw new Error(`resource "${x.name}" carries no resource`);
    next.set(x.name, { version: x.version, resource: x.resource });
  }
  const resources = whole ? [...next.values()].map((h) => h.resource) : r.resources.map((x) => x.resource);
  return { held: next, resources };
}
