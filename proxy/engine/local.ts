// Local replies: what the engine answers itself (no route, overflow, timeouts, faults, rate limits).
export const LOCAL_BODY = {
  NR: "route not found",
  NC: "cluster not found",
  UH: "no healthy upstream",
  UO: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
  UF: "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
  UC: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
  UPE: "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
  UT: "upstream request timeout",
  FI: "fault filter abort",
  RL: "local_rate_limited",
  DPE: "Bad Request",
  DT: "downstream duration timeout",
} as const;

export type LocalFlag = keyof typeof LOCAL_BODY;

/** Envoy's mapping of a local HTTP status to a gRPC status. */
export function grpcStatusOf(http: number): number {
  switch (http) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}
