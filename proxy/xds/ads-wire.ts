// The ADS messages a client writes and reads (envoy.service.discovery.v3), on the bare wire format: the sidecar's
// agent speaks ADS without protobufjs. Requests are written field by field in number order, as protobufjs writes
// them; responses are read with the fields a client uses, each defaulting to its zero (the server's side is ads.ts
// and request.ts; delta.ts has the incremental stream's).
import type { AnyMessage } from "./types.js";
import { LEN, WireReader, WireWriter } from "./wire.js";

export interface NodeInfo {
  id: string;
  cluster?: string;
  user_agent_name?: string;
  user_agent_version?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  /** google.protobuf.Struct, in protobufjs' form ({fields: {k: {stringValue}}}). */
  metadata?: { fields?: Record<string, { stringValue?: string }> };
}

export interface DiscoveryRequest {
  version_info: string;
  node?: NodeInfo;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code?: number; message?: string };
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}

export const ADS_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService";

/** The state-of-the-world stream's method; the incremental one's is delta.ts' DELTA_PATH. */
export const STREAM_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;

// envoy.config.core.v3.Node, with the fields NodeInfo has.
export function writeNode(w: WireWriter, n: NodeInfo): void {
  w.string(1, n.id)
    .string(2, n.cluster)
    .message(3, n.metadata, (s, m) => {
      // google.protobuf.Struct: map<string, Value> fields = 1; Value.string_value = 3.
      s.each(1, Object.entries(m.fields ?? {}), (e, [k, v]) => e.string(1, k).message(2, v, writeValue));
    })
    .message(4, n.locality, (l, loc) => l.string(1, loc.region).string(2, loc.zone).string(3, loc.sub_zone))
    .string(6, n.user_agent_name)
    .string(7, n.user_agent_version);
}

// google.protobuf.Value, as NodeInfo's metadata has it: string_value = 3.
function writeValue(w: WireWriter, v: { stringValue?: string }): void {
  w.string(3, v.stringValue);
}

// google.rpc.Status: code = 1, message = 2.
export function writeStatus(w: WireWriter, s: { code?: number; message?: string }): void {
  w.uint(1, s.code).string(2, s.message);
}

export function encodeRequest(r: DiscoveryRequest): Buffer {
  return new WireWriter()
    .string(1, r.version_info)
    .message(2, r.node, writeNode)
    .strings(3, r.resource_names)
    .string(4, r.type_url)
    .string(5, r.response_nonce)
    .message(6, r.error_detail, writeStatus)
    .finish();
}

/** google.protobuf.Any: type_url = 1, value = 2. */
export function readAny(r: WireReader): AnyMessage {
  const out: AnyMessage = { type_url: "", value: Buffer.alloc(0) };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.type_url = r.string();
    else if (tag === ((2 << 3) | LEN)) out.value = r.bytes();
    else r.skip(tag & 7);
  }
  return out;
}

/** A DiscoveryResponse; `headerOnly`: its version, type and nonce (resources: []), for simulated proxies. */
function readResponse(bytes: Buffer, headerOnly: boolean): DiscoveryResponse {
  const r = new WireReader(bytes);
  const out: DiscoveryResponse = { version_info: "", resources: [], type_url: "", nonce: "" };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | LEN)) out.version_info = r.string();
    else if (tag === ((2 << 3) | LEN) && !headerOnly) out.resources.push(readAny(r.sub()));
    else if (tag === ((4 << 3) | LEN)) out.type_url = r.string();
    else if (tag === ((5 << 3) | LEN)) out.nonce = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

export const decodeResponse = (bytes: Buffer): DiscoveryResponse => readResponse(bytes, false);

/** Reads only version, type and nonce of a response (resources: []), for clients that don't use the resources. */
export const decodeResponseHeader = (bytes: Buffer): DiscoveryResponse => readResponse(bytes, true);
