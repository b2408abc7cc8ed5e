// Incremental ("delta") ADS: the DeltaAggregatedResources messages, typed once for the server (operator/discovery/ads/
// delta.ts) and the agent's client (client.ts). A response carries only the resources that changed and the names
// that went away; an ACK carries only a nonce. At 2,000 services a state-of-the-world ACK repeats 2,400 names
// (170 KB) after every push; a delta ACK is a few dozen bytes.
import protobuf from "protobufjs";
import type { NodeInfo } from "./ads.js";
import { messageType } from "./protos.js";
import { decodeNode } from "./request.js";
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

/** The request as the server reads it: the node's bytes kept, so a repeated node costs a memcmp, not a decode. */
export interface RawDeltaRequest extends DeltaDiscoveryRequest {
  readonly nodeBytes: Buffer | undefined;
  /** Fields this server doesn't implement (xdstp resource locators), by name: the stream is refused, naming them. */
  readonly unsupported: string[];
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

const REQUEST = "envoy.service.discovery.v3.DeltaDiscoveryRequest";
const RESPONSE = "envoy.service.discovery.v3.DeltaDiscoveryResponse";
const STATUS = "google.rpc.Status";

function encode(name: string, value: object): Buffer {
  const type = messageType(name);
  return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
}

export const encodeDeltaRequest = (r: Partial<DeltaDiscoveryRequest>): Buffer => encode(REQUEST, r);

/** A response, or one already encoded (shared by every stream that gets it) passed through. */
export const encodeDeltaResponse = (r: DeltaDiscoveryResponse | Buffer): Buffer =>
  Buffer.isBuffer(r) ? r : encode(RESPONSE, r);

export function decodeDeltaResponse(bytes: Buffer): DeltaDiscoveryResponse {
  const type = messageType(RESPONSE);
  const plain = type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true, arrays: true });
  return plain as DeltaDiscoveryResponse;
}

/** A request as the server reads it; the node is decoded when first read. */
export function decodeDeltaRequest(bytes: Buffer): RawDeltaRequest {
  const r = protobuf.Reader.create(bytes);
  const out = {
    type_url: "",
    resource_names_subscribe: [] as string[],
    resource_names_unsubscribe: [] as string[],
    initial_resource_versions: {} as Record<string, string>,
    response_nonce: "",
    error_detail: undefined as DeltaDiscoveryRequest["error_detail"],
    nodeBytes: undefined as Buffer | undefined,
    unsupported: [] as string[],
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field >= 1 && field <= 9 && (tag & 7) !== 2)
      throw new Error(`DeltaDiscoveryRequest: field ${field} is not length-delimited`);
    switch (field) {
      case 1:
        out.nodeBytes = Buffer.from(r.bytes());
        break;
      case 2:
        out.type_url = r.string();
        break;
      case 3:
        out.resource_names_subscribe.push(r.string());
        break;
      case 4:
        out.resource_names_unsubscribe.push(r.string());
        break;
      case 5: {
        const entry = protobuf.Reader.create(r.bytes());
        let key = "";
        let value = "";
        while (entry.pos < entry.len) {
          const t = entry.uint32();
          if (t >>> 3 === 1) key = entry.string();
          else if (t >>> 3 === 2) value = entry.string();
          else entry.skipType(t & 7);
        }
        out.initial_resource_versions[key] = value;
        break;
      }
      case 6:
        out.response_nonce = r.string();
        break;
      case 7: {
        const status = messageType(STATUS);
        const plain = status.toObject(status.decode(r.bytes()), { defaults: true }) as {
          code?: number;
          message?: string;
        };
        out.error_detail = { code: plain.code, message: plain.message };
        break;
      }
      case 8:
      case 9:
        r.skipType(tag & 7);
        out.unsupported.push(field === 8 ? "resource_locators_subscribe" : "resource_locators_unsubscribe");
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  const { nodeBytes } = out;
  let node: NodeInfo | undefined;
  return Object.defineProperty(out, "node", {
    enumerable: true,
    get(): NodeInfo | undefined {
      if (!node && nodeBytes) node = decodeNode(nodeBytes);
      return node;
    },
  }) as RawDeltaRequest;
}

export const DELTA_PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

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
