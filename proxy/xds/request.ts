// A DiscoveryRequest as the ADS server reads it. Every proxy ACKs every response with its whole list of names (600
// EDS names at 500 services), and usually the same node: decoding those into strings each time was most of what a
// push cost the server. Here the names and the node are decoded only when read, and their bytes can be compared
// with the previous request's first (a memcmp), so an ACK that repeats them costs no strings.
import protobuf from "protobufjs";
import type { DiscoveryRequest, NodeInfo } from "./ads-wire.js";
import type { DeltaDiscoveryRequest } from "./delta.js";
import { messageType } from "./protos.js";

const NODE = "envoy.config.core.v3.Node";
const STATUS = "google.rpc.Status";

/** The request, with the raw bytes of its names and node for a cheap "same as before?" check. */
export interface RawDiscoveryRequest extends DiscoveryRequest {
  /** The bytes of every resource_names field, tags included; undefined when they weren't contiguous. */
  readonly namesBytes: Buffer | undefined;
  /** The bytes of the node field, or undefined when there is none. */
  readonly nodeBytes: Buffer | undefined;
}

/** Decodes a DiscoveryRequest; resource_names and node become strings and objects when first read. */
export function decodeRequestLazily(bytes: Buffer): RawDiscoveryRequest {
  const r = protobuf.Reader.create(bytes);
  let version = "";
  let typeUrl = "";
  let nonce = "";
  let error: DiscoveryRequest["error_detail"];
  let nodeBytes: Buffer | undefined;
  let namesStart = -1;
  let namesEnd = -1;
  let contiguous = true;
  const runs: number[] = []; // [start, end) of each run of names fields
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((field === 2 || field === 3) && (tag & 7) !== 2)
      throw new Error(`DiscoveryRequest: field ${field} is not length-delimited`);
    switch (field) {
      case 1:
        version = r.string();
        break;
      case 2: {
        const length = r.uint32();
        nodeBytes = bytes.subarray(r.pos, r.pos + length);
        r.skip(length);
        break;
      }
      case 3: {
        // A run of names, walked without making anything: each is the tag byte, a varint length, the string.
        const end = skipNames(bytes, start, r.len);
        if (namesStart < 0) namesStart = start;
        else if (start !== namesEnd) contiguous = false;
        namesEnd = end;
        runs.push(start, end);
        r.pos = end;
        break;
      }
      case 4:
        typeUrl = r.string();
        break;
      case 5:
        nonce = r.string();
        break;
      case 6:
        error = decodeStatus(r.bytes());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  const namesBytes = namesStart < 0 ? Buffer.alloc(0) : contiguous ? bytes.subarray(namesStart, namesEnd) : undefined;
  let names: string[] | undefined;
  let node: NodeInfo | undefined | null = nodeBytes ? undefined : null;
  return {
    version_info: version,
    type_url: typeUrl,
    response_nonce: nonce,
    ...(error ? { error_detail: error } : {}),
    namesBytes,
    nodeBytes,
    get resource_names(): string[] {
      names ??= runs.flatMap((_, i) => (i % 2 ? [] : decodeNames(bytes.subarray(runs[i], runs[i + 1]))));
      return names;
    },
    get node(): NodeInfo | undefined {
      if (node === undefined && nodeBytes) node = decodeNode(nodeBytes);
      return node ?? undefined;
    },
  };
}

/** The request as the server reads it: the node's bytes kept, so a repeated node costs a memcmp, not a decode. */
export interface RawDeltaRequest extends DeltaDiscoveryRequest {
  readonly nodeBytes: Buffer | undefined;
  /** Fields this server doesn't implement (xdstp resource locators), by name: the stream is refused, naming them. */
  readonly unsupported: string[];
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
      case 7:
        out.error_detail = decodeStatus(r.bytes());
        break;
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

/** A NACK's google.rpc.Status: its code and message. */
function decodeStatus(bytes: Uint8Array): { code?: number; message?: string } {
  const status = messageType(STATUS);
  const plain = status.toObject(status.decode(bytes), { defaults: true }) as { code?: number; message?: string };
  return { code: plain.code, message: plain.message };
}

/** A Node from its bytes, as protobufjs' plain object. */
export function decodeNode(bytes: Buffer): NodeInfo {
  const type = messageType(NODE);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, arrays: true, defaults: true }) as NodeInfo;
}

/** The strings of consecutive resource_names fields. */
function decodeNames(bytes: Buffer): string[] {
  const r = protobuf.Reader.create(bytes);
  const out: string[] = [];
  while (r.pos < r.len) {
    r.uint32(); // the tag: field 3, length-delimited
    out.push(r.string());
  }
  return out;
}

/** The end of the run of resource_names fields (tag 0x1a) that starts at `pos`. */
function skipNames(bytes: Buffer, pos: number, len: number): number {
  while (pos < len && bytes[pos] === 0x1a) {
    pos++;
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[pos++] ?? 0;
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    pos += length;
  }
  if (pos > len) throw new Error("DiscoveryRequest: a resource name runs past the end");
  return pos;
}
