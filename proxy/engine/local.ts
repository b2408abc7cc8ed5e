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
} as const;

export type LocalFlag = keyof typeof LOCAL_BODY;
