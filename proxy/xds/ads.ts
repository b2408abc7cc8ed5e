// The ADS gRPC service (envoy.service.discovery.v3.AggregatedDiscoveryService), with serializers built on the
// same protobufjs Root as the resource codec. Shared by the control plane (server) and agents (client).
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { messageType } from "./protos.js";
import { decodeRequestLazily } from "./request.js";
import type { AnyMessage } from "./types.js";
import {
  DELTA_PATH,
  decodeDeltaRequest,
  decodeDeltaResponse,
  encodeDeltaRequest,
  encodeDeltaResponse,
} from "./delta.js";

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

const REQUEST = "envoy.service.discovery.v3.DiscoveryRequest";
const RESPONSE = "envoy.service.discovery.v3.DiscoveryResponse";

function encoder<T extends object>(name: string): (value: T) => Buffer {
  return (value) => {
    const type = messageType(name);
    return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
  };
}

function decoder<T>(name: string, defaults: boolean): (bytes: Buffer) => T {
  return (bytes) => {
    const type = messageType(name);
    const plain = type.toObject(type.decode(bytes), { longs: String, enums: String, defaults, arrays: true });
    return plain as T;
  };
}

export const encodeRequest = encoder<DiscoveryRequest>(REQUEST);
export const decodeRequest = decoder<DiscoveryRequest>(REQUEST, true);
export const decodeResponse = decoder<DiscoveryResponse>(RESPONSE, true);
const encodeWhole = encoder<DiscoveryResponse>(RESPONSE);

/** Reads only version, type and nonce of a response (resources: []), for clients that don't use the resources. */
export function decodeResponseHeader(bytes: Buffer): DiscoveryResponse {
  const r = protobuf.Reader.create(bytes);
  const out: DiscoveryResponse = { version_info: "", resources: [], type_url: "", nonce: "" };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) out.version_info = r.string();
    else if (field === 4) out.type_url = r.string();
    else if (field === 5) out.nonce = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}

/**
 * An encoded response inside its gRPC frame (flag byte, 4-byte length, message), built once and written to every
 * stream it goes to. grpc-js frames each message it sends into a new buffer, a copy of the whole; for a response
 * that hundreds of proxies get, that copy is most of a push's CPU and a copy per stream in memory.
 * `shareFrames` (operator/discovery/ads/frames.ts) lets a server stream send the frame itself.
 */
export class FramedResponse {
  readonly frame: Buffer;
  constructor(message: Buffer) {
    this.frame = Buffer.allocUnsafeSlow(message.length + 5);
    this.frame.writeUInt8(0, 0); // not compressed
    this.frame.writeUInt32BE(message.length, 1);
    message.copy(this.frame, 5);
  }
  get message(): Buffer {
    return this.frame.subarray(5);
  }
}

/**
 * Serializes a response; a Buffer is taken as already encoded, so one encoding can go to many proxies, and so is a
 * FramedResponse on a stream where frames aren't shared.
 */
export function encodeResponse(value: DiscoveryResponse | Buffer | FramedResponse): Buffer {
  if (value instanceof FramedResponse) return value.message;
  return Buffer.isBuffer(value) ? value : encodeWhole(value);
}

export const ADS_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService";

/** The state-of-the-world stream's method; the incremental one's is delta.ts's DELTA_PATH. */
export const STREAM_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;

const STREAM = {
  path: STREAM_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: encodeRequest,
  requestDeserialize: decodeRequestLazily, // the server's side: names and node decoded when read
  responseSerialize: encodeResponse,
  responseDeserialize: decodeResponse,
};

const DELTA = {
  path: DELTA_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: encodeDeltaRequest,
  requestDeserialize: decodeDeltaRequest,
  responseSerialize: (value: Parameters<typeof encodeDeltaResponse>[0] | FramedResponse): Buffer =>
    value instanceof FramedResponse ? value.message : encodeDeltaResponse(value),
  responseDeserialize: decodeDeltaResponse,
};

/**
 * The ADS service for grpc-js: `server.addService(adsService, handlers)` or `makeGenericClientConstructor`. Both
 * stream kinds: state of the world, and incremental (delta).
 */
export const adsService = {
  StreamAggregatedResources: STREAM,
  DeltaAggregatedResources: DELTA,
} satisfies ServiceDefinition;

/** The same, for clients that read only version, type and nonce of each response (simulated proxies). */
export const adsHeaderService = {
  StreamAggregatedResources: { ...STREAM, responseDeserialize: decodeResponseHeader },
  DeltaAggregatedResources: DELTA,
} satisfies ServiceDefinition;
