// An HTTP connection manager's or a TCP proxy's access_log: Envoy's file (or stdout) logger writing to stdout, with a JSON format
// (key → command operator) or a text format (a string with command operators). The operators supported are the
// ones below; any other is refused, naming it, so a log never silently misses a field it was asked for.
import { headerValue, type RequestHead } from "../http/head.js";
import { join, onlyKnown, type Obj, type Reader } from "./read.js";

/** What one request's log line is made of. */
export interface AccessRecord {
  /** The request; none for a TCP connection (request operators give "-", as Envoy's). */
  head: RequestHead | undefined;
  startTime: number;
  code: number;
  flags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamCluster: string;
  upstreamHost: string | undefined;
  remoteAddress: string;
  routeName: string | undefined;
}

type Operator = (r: AccessRecord) => string | number | undefined;
export type AccessLogFormat =
  { kind: "default" } | { kind: "json"; fields: [string, Operator][] } | { kind: "text"; parts: (string | Operator)[] };

const FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STDOUT = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

function request(name: string, r: AccessRecord): string | undefined {
  const h = r.head;
  if (!h) return undefined;
  switch (name) {
    case ":method":
      return h.method;
    case ":path":
      return h.target;
    case ":authority":
    case "host":
      return h.host;
    default:
      return headerValue(h.headers, name);
  }
}

const OPERATORS: Record<string, Operator> = {
  START_TIME: (r) => new Date(r.startTime).toISOString(),
  PROTOCOL: (r) => (r.head ? `HTTP/1.${r.head.minor}` : undefined),
  RESPONSE_CODE: (r) => r.code,
  RESPONSE_FLAGS: (r) => r.flags,
  BYTES_RECEIVED: (r) => r.bytesReceived,
  BYTES_SENT: (r) => r.bytesSent,
  DURATION: (r) => Math.round(r.durationMs),
  UPSTREAM_HOST: (r) => r.upstreamHost,
  UPSTREAM_CLUSTER: (r) => r.upstreamCluster,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => r.remoteAddress,
  ROUTE_NAME: (r) => r.routeName,
};

/** `%NAME%` or `%REQ(A?B)%` (B when A is absent) → its operator; undefined when not supported. */
function operator(token: string): Operator | undefined {
  const req = /^REQ\(([^)]+)\)$/.exec(token);
  if (!req) return OPERATORS[token];
  const names = (req[1] ?? "").split("?").map((n) => n.toLowerCase());
  return (r) => {
    for (const n of names) {
      const v = request(n, r);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** A command operator in a format string: `%NAME%` or `%NAME(...)%`. */
const OPERATOR_TOKEN = /%([A-Z_]+(?:\([^)%]*\))?)%/g;

/**
 * The command operators in a format string that the engine doesn't implement: discovery checks a mesh's access log
 * format with this before any proxy is sent it (the engine would refuse the listener).
 */
export function unsupportedOperators(text: string): string[] {
  return [...text.matchAll(OPERATOR_TOKEN)].map((m) => `%${m[1]}%`).filter((t) => !operator(t.slice(1, -1)));
}

function compileText(r: Reader, text: string, path: string): (string | Operator)[] {
  const parts: (string | Operator)[] = [];
  const re = new RegExp(OPERATOR_TOKEN);
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    const op = operator(m[1] ?? "");
    if (!op)
      r.fail(
        path,
        `command operator %${m[1]}% is not supported (supported: ${Object.keys(OPERATORS).join(", ")}, REQ(...))`,
      );
    parts.push(op);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function compileAccessLog(r: Reader, hcm: Obj, hp: string): AccessLogFormat | undefined {
  // `hcm`: the HttpConnectionManager or the TcpProxy whose access_log this is.
  const list = r.list(hcm, "access_log", hp);
  if (list.length === 0) return undefined;
  const p = join(join(hp, "access_log"), 0);
  if (list.length > 1) r.fail(join(hp, "access_log"), "one access log is supported");
  const entry = r.obj(list[0], p);
  // filter (log only some requests) is not implemented: refused, rather than logging every request.
  onlyKnown(r, entry, p, ["name", "typed_config"], "AccessLog");
  const typed = r.optObj(entry, "typed_config", p);
  if (!typed) return { kind: "default" };
  const tp = join(p, "typed_config");
  const type = typed["@type"];
  if (type !== FILE && type !== STDOUT)
    r.fail(join(tp, "@type"), `unsupported access logger ${String(type)} (supported: ${FILE}, ${STDOUT})`);
  if (type === FILE && r.str(typed, "path", tp) !== "/dev/stdout")
    r.fail(join(tp, "path"), "only /dev/stdout is supported");
  onlyKnown(r, typed, tp, type === FILE ? ["path", "log_format"] : ["log_format"], "FileAccessLog");
  const format = r.optObj(typed, "log_format", tp);
  if (!format) return { kind: "default" };
  const fp = join(tp, "log_format");
  // omit_empty_values, content_type, json_format_options and formatters would change the line: refused.
  onlyKnown(r, format, fp, ["json_format", "text_format_source", "text_format"], "SubstitutionFormatString");
  const json = r.optObj(format, "json_format", fp);
  if (json) {
    return {
      kind: "json",
      fields: Object.entries(json).map(([key, v]) => {
        const kp = join(join(fp, "json_format"), key);
        if (typeof v !== "string") r.fail(kp, "expected a string");
        const parts = compileText(r, v, kp);
        const only = parts.length === 1 ? parts[0] : undefined;
        // One operator alone keeps its type (numbers stay numbers), as Envoy does.
        const op: Operator =
          typeof only === "function"
            ? only
            : (rec) => parts.map((x) => (typeof x === "string" ? x : (x(rec) ?? "-"))).join("");
        return [key, op];
      }),
    };
  }
  const source = r.optObj(format, "text_format_source", fp);
  if (source) onlyKnown(r, source, join(fp, "text_format_source"), ["inline_string"], "DataSource");
  const text = source
    ? r.str(source, "inline_string", join(fp, "text_format_source"))
    : r.str(format, "text_format", fp);
  if (text === undefined) r.fail(fp, "one of json_format, text_format_source.inline_string or text_format is required");
  return { kind: "text", parts: compileText(r, text, fp) };
}

/** One line (with its newline) in the listener's format; undefined for the default format (the engine's JSON). */
export function formatAccessLine(f: AccessLogFormat, rec: AccessRecord): string | undefined {
  if (f.kind === "default") return undefined;
  if (f.kind === "json") {
    const o: Record<string, string | number | null> = {};
    for (const [k, op] of f.fields) o[k] = op(rec) ?? null;
    return `${JSON.stringify(o)}\n`;
  }
  let line = "";
  for (const p of f.parts) line += typeof p === "string" ? p : String(p(rec) ?? "-");
  return line.endsWith("\n") ? line : `${line}\n`;
}
