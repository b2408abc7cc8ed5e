import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ECHO_ENTRY } from "../testing/mesh.js";
import type { DirSnapshot } from "./dir.js";
import { DirSource } from "./dir.js";

describe("DirSource", () => {
  let dir: string;
  let source: DirSource | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "weft-dir-"));
  });
  afterEach(async () => {
    source?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function start(): { first: Promise<DirSnapshot>; next(): Promise<DirSnapshot> } {
    const waiting: ((s: DirSnapshot) => void)[] = [];
    const queued: DirSnapshot[] = [];
    source = new DirSource({
      dir,
      debounceMs: 20,
      onChange: (s) => {
        const w = waiting.shift();
        if (w) w(s);
        else queued.push(s);
      },
    });
    const first = source.start();
    return {
      first,
      next: () => {
        const q = queued.shift();
        return q ? Promise.resolve(q) : new Promise((resolve) => waiting.push(resolve));
      },
    };
  }

  it("reads every YAML file, multi-document, into one model", async () => {
    await writeFile(path.join(dir, "mesh.yaml"), ECHO_ENTRY);
    await writeFile(path.join(dir, "rules.yml"), "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: echo }\nspec: { host: echo }\n");
    await writeFile(path.join(dir, "notes.txt"), "not config");
    const { first } = start();
    const snap = await first;
    expect(snap.model.services.map((s) => s.hostname)).toEqual(["echo", "web.example.com"]);
    expect(snap.model.destinationRules).toHaveLength(1);
    expect(snap.warnings).toEqual([]);
  });

  it("reports a change made to the folder, and keeps a broken file's last good content", async () => {
    await writeFile(path.join(dir, "mesh.yaml"), ECHO_ENTRY);
    const { first, next } = start();
    await first;
    const vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: echo }\nspec: { hosts: [echo] }\n";
    await writeFile(path.join(dir, "vs.yaml"), vs);
    let snap = await next();
    while (snap.model.virtualServices.length === 0) snap = await next();
    expect(snap.model.virtualServices[0]?.name).toBe("echo");

    await writeFile(path.join(dir, "vs.yaml"), "kind: [unclosed");
    snap = await next();
    while (snap.warnings.length === 0) snap = await next();
    expect(snap.warnings[0]).toMatch(/^vs\.yaml: .*\(keeping its previous content\)$/);
    expect(snap.model.virtualServices).toHaveLength(1);
  });

  it("forgets a deleted file, picks up a new folder, and keeps reporting a broken file until it parses", async () => {
    await writeFile(path.join(dir, "mesh.yaml"), ECHO_ENTRY);
    await writeFile(path.join(dir, "broken.yaml"), "kind: [unclosed");
    const { first, next } = start();
    expect((await first).warnings).toEqual([expect.stringMatching(/^broken\.yaml: /)]);

    const until = async (done: (s: DirSnapshot) => boolean): Promise<DirSnapshot> => {
      let snap = await next();
      for (let i = 0; i < 50 && !done(snap); i++) snap = await next();
      return snap;
    };
    await mkdir(path.join(dir, "team"));
    await writeFile(path.join(dir, "team", "dr.yaml"), "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: echo }\nspec: { host: echo }\n");
    let snap = await until((s) => s.model.destinationRules.length === 1);
    expect(snap.warnings).toEqual([expect.stringMatching(/^broken\.yaml: /)]);

    await unlink(path.join(dir, "mesh.yaml"));
    snap = await until((s) => s.model.services.length === 0);
    expect(snap.model.destinationRules).toHaveLength(1);

    await unlink(path.join(dir, "broken.yaml"));
    snap = await until((s) => s.warnings.length === 0);
    expect(snap.warnings).toEqual([]);
  });
});
