// Header edits (headers_to_add/remove) at every level of a route configuration.
import type { HeaderEdits, HeaderOp } from "./types.js";
import { join, onlyKnown, type Obj, type Reader } from "./read.js";

const ACTIONS = [
  "APPEND_IF_EXISTS_OR_ADD",
  "ADD_IF_ABSENT",
  "OVERWRITE_IF_EXISTS_OR_ADD",
  "OVERWRITE_IF_EXISTS",
] as const;

export function headerOps(r: Reader, o: Obj, key: string, path: string): HeaderOp[] {
  return r.list(o, key, path).map((item, i) => {
    const p = join(join(path, key), i);
    const h = r.obj(item, p);
    // keep_empty_value and raw_value are not implemented: refused.
    onlyKnown(r, h, p, ["header", "append", "append_action"], "HeaderValueOption");
    const header = r.obj(h.header, join(p, "header"));
    onlyKnown(r, header, join(p, "header"), ["key", "value"], "HeaderValue");
    const name = r.headerName(header.key, join(join(p, "header"), "key")).toLowerCase();
    const value = r.headerValue(header, "value", join(p, "header")) ?? "";
    let action = r.enumName(h, "append_action", p, ACTIONS, "APPEND_IF_EXISTS_OR_ADD");
    const append = r.bool(h, "append", p);
    if (append === false && h.append_action === undefined) action = "OVERWRITE_IF_EXISTS_OR_ADD";
    return { key: name, value, action };
  });
}

function names(r: Reader, o: Obj, key: string, path: string): string[] {
  return r.list(o, key, path).map((v, i) => r.headerName(v, join(join(path, key), i)).toLowerCase());
}

/** The four edit lists of one level, or undefined when there are none (the common, fast case). */
export function headerEdits(r: Reader, o: Obj, path: string): HeaderEdits | undefined {
  const e: HeaderEdits = {
    requestAdd: headerOps(r, o, "request_headers_to_add", path),
    requestRemove: names(r, o, "request_headers_to_remove", path),
    responseAdd: headerOps(r, o, "response_headers_to_add", path),
    responseRemove: names(r, o, "response_headers_to_remove", path),
  };
  const empty = !e.requestAdd.length && !e.requestRemove.length && !e.responseAdd.length && !e.responseRemove.length;
  return empty ? undefined : e;
}
