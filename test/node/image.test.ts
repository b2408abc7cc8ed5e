// The weft image as `npm run image` wrote it (hack/setup.sh builds it before the suites): both layouts in the
// archive agree and every blob is what its name says; its layers unpack into a root filesystem in which the
// non-root user runs `weft version`, and the engine is at the default spec.proxy.binaryPath.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { images } from "../../hack/image/main.js";
import { DEFAULT_BINARY_PATH } from "../../operator/api/versions.js";
import { WEFT_VERSION } from "../../operator/api/version.js";

interface Descriptor {
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const dir = mkdtempSync(join(tmpdir(), "weft-image-"));
const root = join(dir, "rootfs");
const json = <T>(file: string) => JSON.parse(readFileSync(join(dir, file), "utf8")) as T;
const blob = (digest: string) => join("blobs", "sha256", digest.slice("sha256:".length));

describe("the weft image archive", () => {
  const { weft } = images();
  let layers: string[] = [];

  beforeAll(() => {
    execFileSync("tar", ["-xf", weft.archive, "-C", dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is an OCI layout tagged <hub>/weft:<version>, with the same image in Docker's manifest.json", () => {
    expect(weft.ref).toBe(`ghcr.io/weft-mesh/weft:${WEFT_VERSION}`);
    const index = json<{ manifests: Descriptor[] }>("index.json");
    expect(index.manifests).toHaveLength(1);
    const desc = index.manifests[0]!;
    expect(desc.annotations?.["io.containerd.image.name"]).toBe(weft.ref);
    const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(blob(desc.digest));
    const [docker] = json<Array<{ Config: string; RepoTags: string[]; Layers: string[] }>>("manifest.json");
    expect(docker?.RepoTags).toEqual([weft.ref]);
    expect(docker?.Config).toBe(blob(manifest.config.digest));
    expect(docker?.Layers).toEqual(manifest.layers.map((l) => blob(l.digest)));
    for (const d of [desc, manifest.config, ...manifest.layers]) {
      const bytes = readFileSync(join(dir, blob(d.digest)));
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(d.digest);
      expect(bytes.length).toBe(d.size);
    }
    const config = json<{ config: { User: string; Entrypoint: string[] } }>(blob(manifest.config.digest));
    expect(config.config.User).toBe("65532:65532");
    expect(config.config.Entrypoint).toEqual(["/usr/local/bin/weft"]);
    layers = manifest.layers.map((l) => join(dir, blob(l.digest)));
    expect(readdirSync(join(dir, "blobs", "sha256")).length).toBe(2 + layers.length);
  });

  it("unpacks into a root filesystem where the non-root user runs `weft version`", () => {
    mkdirSync(root);
    for (const l of layers) execFileSync("tar", ["-xzf", l, "-C", root]);
    const out = execFileSync("/usr/sbin/chroot", ["--userspec=65532:65532", root, "/usr/local/bin/weft", "version"], {
      encoding: "utf8",
      env: {},
    });
    expect(out.trim()).toBe(`weft ${WEFT_VERSION}`);
    // The engine the agent forks, at the default binaryPath: a relative link to the one-file bundle with the addon
    // beside it, so the carrier's copy under <engines-dir>/<version>/ resolves inside the copy. (This asserted a
    // link to /app/dist/proxy/engine/child.js: a copy of that link would have run the old image's engine.)
    expect(readlinkSync(join(root, DEFAULT_BINARY_PATH))).toBe("../lib/weft/engine.mjs");
    const bundle = statSync(join(root, "usr/local/lib/weft/engine.mjs"));
    expect(bundle.isFile()).toBe(true);
    expect(bundle.size).toBeLessThan(2_000_000);
    expect(statSync(join(root, "usr/local/lib/weft/original_dst.node")).isFile()).toBe(true);
    // Each addon beside the bundle loads in the image's own Node and libc, and malloc_trim runs there.
    const load = (name: string) =>
      `(m => (process.dlopen(m, "/usr/local/lib/weft/${name}.node"), m.exports))({ exports: {} })`;
    const probe = `const t = ${load("malloc_trim")}; ${load("original_dst")}; ${load("shared_memory")}; console.log(typeof t.trim());`;
    const loaded = execFileSync(
      "/usr/sbin/chroot",
      ["--userspec=65532:65532", root, "/usr/local/bin/node", "-e", probe],
      {
        encoding: "utf8",
        env: {},
      },
    );
    expect(loaded.trim()).toBe("boolean");
    expect(statSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
  });
});
