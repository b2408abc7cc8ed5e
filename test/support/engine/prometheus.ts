// Parses Prometheus text with the reference client library's parser (Python's prometheus_client), so a test
// proves the exposition is what a real scraper accepts, not just what our own string checks expect.
import { execFile } from "node:child_process";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
`;

export function parsePrometheus(text: string): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = execFile("python3", ["-c", SCRIPT], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `prometheus_client rejected the exposition (pip install prometheus-client): ${stderr || err.message}`,
          ),
        );
      else resolve(JSON.parse(stdout) as Sample[]);
    });
    child.stdin?.end(text);
  });
}
