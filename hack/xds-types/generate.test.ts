// The committed proxy/xds/generated/ is what the generator makes from the installed protos, and the types it
// holds make a misspelt field in a resource a compile error.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../paths.js";
import { OUT_DIR, generatedFiles } from "./source.js";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(OUT_DIR, join(dir, e.name))],
  );
}

test("proxy/xds/generated/ is up to date (else: npm run gen:xds-types)", () => {
  const expected = generatedFiles();
  expect(filesUnder(OUT_DIR).sort()).toEqual([...expected.keys()].sort());
  for (const [file, text] of expected)
    expect({ file, text: readFileSync(join(OUT_DIR, file), "utf8") }).toEqual({ file, text });
});

test("a misspelt field, enum value or field inside an Any fails to compile; correct resources compile", () => {
  const fixture = join(REPO_ROOT, "hack/xds-types/fixtures/resources.ts");
  const program = ts.createProgram([fixture], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
  });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : 0;
    return {
      file: d.file ? relative(REPO_ROOT, d.file.fileName) : "",
      line,
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    };
  });
  const expected = readFileSync(fixture, "utf8")
    .split("\n")
    .flatMap((text, i) => {
      const m = /\/\/ expect-error (\w+)/.exec(text);
      return m ? [{ line: i + 1, field: m[1] as string }] : [];
    });
  expect(expected.length).toBeGreaterThan(3);
  expect(errors.map((e) => `${e.file}:${e.line}`)).toEqual(
    expected.map((e) => `hack/xds-types/fixtures/resources.ts:${e.line}`),
  );
  errors.forEach((e, i) =>
    expect(e.message).toContain(expected[i]?.field === "type" ? "STRICT_DNZ" : `'${expected[i]?.field}'`),
  );
}, 120_000);
