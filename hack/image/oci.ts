// OCI image archives without a daemon. A layer is a directory packed by GNU tar with every
// varying field pinned (names sorted, mtime 0, owner root), then gzip-compressed; its
// uncompressed digest (the diff_id) keys a cache, so an unchanged layer is never compressed
// twice. The archive holds both layouts, as `docker save` (v25+) writes them: the OCI image
// layout (index.json, for `ctr images import` and kind) and Docker's manifest.json (for
// `docker load`), sharing blobs/sha256/.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, Writable } from "node:stream";
import { createGzip } from "node:zlib";

export interface Layer {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** sha256 of the gzip blob. */
  digest: string;
  file: string;
  size: number;
  uncompressedSize: number;
}

export interface ImageSpec {
  /** Full reference, e.g. ghcr.io/weft-mesh/weft:0.2.0. */
  ref: string;
  layers: Layer[];
  entrypoint: string[];
  user: string;
  env: string[];
  workingDir?: string;
}

const TAR_FLAGS = [
  "--sort=name",
  "--mtime=@0",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--format=posix",
  "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
];

/** GNU tar of `dir`'s contents (names without a leading ./) on stdout, streamed into `sink`. */
async function tarInto(dir: string, sink: NodeJS.WritableStream): Promise<void> {
  const tar = spawn("tar", [...TAR_FLAGS, "-C", dir, "-cf", "-", "--", ...readdirSync(dir).sort()], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  tar.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<number>((resolve, reject) => {
    tar.on("error", reject);
    tar.on("close", (code) => resolve(code ?? 1));
  });
  await pipeline(tar.stdout, sink);
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${dir} exited ${code}: ${err.trim()}`);
}

function hasher(): { sink: Writable; digest: () => string; size: () => number } {
  const h = createHash("sha256");
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb();
    },
  });
  return { sink, digest: () => `sha256:${h.digest("hex")}`, size: () => n };
}

/** Packs `dir` as a layer, reusing the compressed blob in `cacheDir` when its content is unchanged. */
export async function layerFromDir(dir: string, cacheDir: string): Promise<Layer> {
  const raw = hasher();
  await tarInto(dir, raw.sink);
  const diffId = raw.digest();
  const file = join(cacheDir, `${diffId.slice(7)}.tar.gz`);
  const meta = `${file}.digest`;
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(file) || !existsSync(meta)) {
    const tmp = `${file}.${process.pid}.tmp`;
    const gz = createGzip({ level: 6 });
    const h = createHash("sha256");
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        cb(null, chunk);
      },
    });
    await Promise.all([tarInto(dir, gz), pipeline(gz, tee, createWriteStream(tmp))]);
    writeFileSync(meta, `sha256:${h.digest("hex")}`);
    renameSync(tmp, file);
  }
  return {
    diffId,
    digest: readFileSync(meta, "utf8").trim(),
    file,
    size: statSync(file).size,
    uncompressedSize: raw.size(),
  };
}

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The image config and manifest (OCI media types), as bytes with their digests. Pure. */
export function imageDocuments(spec: ImageSpec): { config: Buffer; manifest: Buffer } {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config: {
        User: spec.user,
        Entrypoint: spec.entrypoint,
        Env: spec.env,
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      },
      rootfs: { type: "layers", diff_ids: spec.layers.map((l) => l.diffId) },
      history: spec.layers.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "hack/image" })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: spec.layers.map((l) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: l.digest,
        size: l.size,
      })),
    }),
  );
  return { config, manifest };
}

/** Writes the archive at `out` (OCI layout + Docker manifest.json in one tar). Returns its size. */
export async function writeArchive(spec: ImageSpec, out: string, workDir: string): Promise<number> {
  const { config, manifest } = imageDocuments(spec);
  const blob = (d: string) => join("blobs", "sha256", d.slice(7));
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(join(workDir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(workDir, blob(sha(config))), config);
  writeFileSync(join(workDir, blob(sha(manifest))), manifest);
  for (const l of spec.layers)
    if (!existsSync(join(workDir, blob(l.digest)))) linkSync(l.file, join(workDir, blob(l.digest)));
  writeFileSync(join(workDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const tag = spec.ref.slice(spec.ref.lastIndexOf(":") + 1);
  writeFileSync(
    join(workDir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha(manifest),
          size: manifest.length,
          annotations: { "io.containerd.image.name": spec.ref, "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  writeFileSync(
    join(workDir, "manifest.json"),
    JSON.stringify([
      { Config: blob(sha(config)), RepoTags: [spec.ref], Layers: spec.layers.map((l) => blob(l.digest)) },
    ]),
  );
  const tmp = `${out}.${process.pid}.tmp`;
  await tarInto(workDir, createWriteStream(tmp));
  renameSync(tmp, out);
  rmSync(workDir, { recursive: true, force: true });
  return statSync(out).size;
}
