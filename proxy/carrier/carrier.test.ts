import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { carry } from "./carrier.js";

describe("the engine carrier", () => {
  it("lays the image's engine out as <engines>/<version>/<path>, whole or not at all, once", async () => {
    const root = mkdtempSync(join(tmpdir(), "weft-carrier-"));
    const image = join(root, "image");
    mkdirSync(join(image, "bin"), { recursive: true });
    mkdirSync(join(image, "lib", "dist"), { recursive: true });
    writeFileSync(join(image, "bin", "weft-engine"), "engine");
    writeFileSync(join(image, "lib", "dist", "child.js"), "child");
    const engines = join(root, "engines");
    mkdirSync(engines);
    const bundle = await carry({
      enginesDir: engines,
      version: "0.3.0",
      paths: [join(image, "bin", "weft-engine"), join(image, "lib")],
    });
    expect(bundle).toBe(join(engines, "0.3.0"));
    expect(readFileSync(join(bundle, image, "bin", "weft-engine"), "utf8")).toBe("engine");
    expect(readFileSync(join(bundle, image, "lib", "dist", "child.js"), "utf8")).toBe("child");
    expect(readdirSync(engines)).toEqual(["0.3.0"]); // no temporary left behind
    // A restarted carrier of the same version leaves the bundle as it is.
    writeFileSync(join(image, "bin", "weft-engine"), "changed");
    await carry({ enginesDir: engines, version: "0.3.0", paths: [join(image, "bin", "weft-engine")] });
    expect(readFileSync(join(bundle, image, "bin", "weft-engine"), "utf8")).toBe("engine");
    // A path that isn't there fails, and leaves nothing half-made.
    await expect(carry({ enginesDir: engines, version: "0.4.0", paths: [join(image, "missing")] })).rejects.toThrow(
      /missing/,
    );
    expect(readdirSync(engines)).toEqual(["0.3.0"]);
  });
});
