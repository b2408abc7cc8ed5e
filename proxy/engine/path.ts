// The HCM's path normalisation, with Envoy's semantics: `normalize_path` (RFC 3986 §6.2.2: percent-encoded
// unreserved characters decoded, the other escapes' hex upper-cased, "\" taken as "/", dot segments removed, §5.2.4)
// and `merge_slashes` ("//" → "/"). `path_with_escaped_slashes_action` is KEEP_UNCHANGED: %2F and %5C stay escaped,
// so they never split or join segments. Pure: the path (without the query) in, the normalised path or undefined
// (a 400: malformed escapes, or a path that isn't absolute) out.

const UNRESERVED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") UNRESERVED[c.charCodeAt(0)] = 1;

const hexVal = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/** Whether the path needs any work: the common case (no "%", "\", "." segment or "//") costs one scan. */
function clean(path: string, merge: boolean): boolean {
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 || c === 92) return false;
    if (c === 46 && prev === 47) return false; // "/." starts a segment that may be a dot segment
    if (merge && c === 47 && prev === 47) return false;
    prev = c;
  }
  return true;
}

function decodeUnreserved(path: string): string | undefined {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 92) {
      out += "/";
      continue;
    }
    if (c !== 37) {
      out += path[i];
      continue;
    }
    const h = hexVal(path.charCodeAt(i + 1));
    const l = hexVal(path.charCodeAt(i + 2));
    if (h < 0 || l < 0) return undefined;
    const v = h * 16 + l;
    out += v < 128 && UNRESERVED[v] === 1 ? String.fromCharCode(v) : `%${path.slice(i + 1, i + 3).toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 remove_dot_segments, on an absolute path. */
function removeDotSegments(path: string): string {
  const segs = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i] as string;
    const last = i === segs.length - 1;
    if (s === ".") {
      if (last) out.push("");
    } else if (s === "..") {
      out.pop();
      if (last) out.push("");
    } else out.push(s);
  }
  return `/${out.join("/")}`;
}

export function normalizePath(path: string, normalize: boolean, merge: boolean): string | undefined {
  if (!path.startsWith("/")) return path === "*" ? path : undefined;
  if (clean(path, merge)) return path;
  let p = path;
  if (normalize) {
    const d = decodeUnreserved(p);
    if (d === undefined) return undefined;
    p = removeDotSegments(d);
  }
  if (merge) p = p.replace(/\/{2,}/g, "/");
  return p;
}
