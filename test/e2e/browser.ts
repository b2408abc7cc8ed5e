// A real browser as the client: headless Chromium (Debian's package) loads a page and returns the DOM it
// rendered. The flags keep it off the network (this machine has none but loopback) and out of any profile.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CHROMIUM, chromiumFlags } from "../support/cdp.js";

export function renderedDom(url: string, timeoutMs = 30_000): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), "weft-chromium-"));
  const args = [...chromiumFlags(profile), "--dump-dom", url];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }); // helpers may linger a moment
      if (err)
        reject(new Error(`${CHROMIUM} could not render ${url} (apt-get install chromium): ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
