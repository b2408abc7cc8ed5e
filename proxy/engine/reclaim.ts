// Request bodies are kept for retries (up to 1 MiB each, more while the upstream lags), so a burst of uploads can
// hold tens of MiB, and the pool of HTTP/1.1 reads (the ReadBuffer's stores) as much again. When that memory is let
// go (connections closed, say by a body timeout), V8 returns it to the OS only at its next major GC, which an engine
// that has gone quiet may not run for a long time: RSS would stay at its peak. So when a lot has been released, the
// engine asks for a GC itself, at most once a second, a second after the last release.
//
// Freed memory reaches the OS only if the allocator gives it back: glibc raises its mmap threshold to the size of
// the largest block freed (up to 32 MiB), after which 8 MiB bodies come from the heap and stay in RSS once freed.
// MALLOC_ENV pins the threshold; the agent starts the engine with it (it must be set before the process starts).
// Streamed bodies pass through 64 KiB socket reads, below any sane threshold: glibc keeps their freed pages in its
// heap (it returns only the top), so after the collections the engine calls malloc_trim, which gives back the free
// pages anywhere in it.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadAddon } from "../native/addon.js";

/** Environment for an engine process: large blocks always mmapped, so freeing them returns them to the OS. */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: "131072" } as const;

/**
 * Node flags for an engine process, whatever the agent itself runs with (fork would pass on the agent's own
 * execArgv, and the agent's NODE_OPTIONS is not passed on either). 2 MiB semi-spaces, not V8's 16: under wrk -c128 the
 * young generation grew to fill them, 23 MiB of the engine's 45 MiB private (the CPU this costs: proxy/README's memory
 * section). Scavenges on the main thread alone (--no-parallel-scavenge): V8 splits each one with helper threads, which
 * on a node whose other cores are busy (the app's, the load's) wait to be scheduled while the engine waits for them;
 * on this 2-core machine under h2load -c32 -m10 the engine's CPU per request fell 8–10% (16.2–17.0 → 13.7–15.9 µs
 * user) and keep-alive's did not rise. $WEFT_ENGINE_NODE_ARGS (space-separated) replaces them, to measure.
 */
export const ENGINE_NODE_ARGS: readonly string[] = (
  process.env.WEFT_ENGINE_NODE_ARGS ?? "--max-semi-space-size=2 --no-parallel-scavenge"
)
  .split(" ")
  .filter(Boolean);

/** glibc's malloc_trim (proxy/native/malloc_trim.c): undefined where the addon isn't built (then RSS stays higher). */
let trimAddon: { trim(): boolean } | string | undefined;
function trimmer(): { trim(): boolean } | undefined {
  trimAddon ??= loadAddon<{ trim(): boolean }>("malloc_trim.node");
  return typeof trimAddon === "string" ? undefined : trimAddon;
}

/** After the collections, when glibc is asked once more for the pages the collections' background work freed. */
const TRIM_AGAIN_MS = 3000;

/** Released bytes that make a GC worth its pause. */
const THRESHOLD = 32 * 1024 * 1024;
let pending = 0;
let timer: NodeJS.Timeout | undefined;
type Gc = (options?: { type: "minor" | "major" }) => void;
let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as Gc;
    } catch {
      gc = null; // no GC on demand here: V8's own schedule it is
    }
  }
  return gc;
}

/** `bytes` of buffered request data are no longer referenced. */
export function released(bytes: number): void {
  pending += bytes;
  if (pending < THRESHOLD) return;
  if (timer) timer.refresh();
  else {
    timer = setTimeout(() => {
      timer = undefined;
      pending = 0;
      const run = collector();
      if (!run) return;
      run();
      // The first collection finds the buffers dead; their memory is freed as it finalizes them, which a second
      // one, a moment later, completes; then glibc is asked to give its free pages back (malloc_trim).
      setTimeout(() => {
        run();
        trimmer()?.trim();
        // V8 frees dead ArrayBuffers' memory on a background thread, which a node whose cores are busy may not have
        // run by now (CI once kept 95 MB of 40 closed uploads this way): glibc is asked again a little later.
        setTimeout(() => trimmer()?.trim(), TRIM_AGAIN_MS).unref();
      }, 500).unref();
    }, 1000).unref();
  }
}

/** Bytes of streamed request bodies read since the last collection they asked for. */
let streamedBytes = 0;
const STREAM_GC = 2 * 1024 * 1024;

/**
 * `bytes` of an HTTP/1.1 request body were read. Each read is a malloc'd buffer of its own (64 KiB), dead once its
 * bytes are copied on, but freed only when V8 collects it, which its own schedule does after some 64 MiB of them: an
 * upload streaming through would grow the engine by that much (and glibc keeps freed heap it can't trim). A minor
 * collection (a scavenge: ~50 µs, the reads are young) every STREAM_GC bytes frees them for the next reads to reuse.
 */
export function streamed(bytes: number): void {
  streamedBytes += bytes;
  if (streamedBytes < STREAM_GC) return;
  streamedBytes = 0;
  collector()?.({ type: "minor" });
}
