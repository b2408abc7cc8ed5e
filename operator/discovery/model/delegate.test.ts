// VirtualService delegation as istiod merges it: what a root's delegated route becomes.
import type { Named } from "./config.js";
import type { HTTPRoute, VirtualService } from "./istio.js";
import { mergeDelegates } from "./delegate.js";
import { normalise } from "./normalise.js";
import { validateObject } from "../validate/index.js";

const dest = (host: string) => [{ destination: { host } }];
const vs = (name: string, spec: VirtualService, namespace = "shop"): Named<VirtualService> => ({
  name,
  namespace,
  spec,
});

const root = (http: HTTPRoute[]) => vs("root", { hosts: ["shop.example.com"], gateways: ["edge"], http });
const productpage = vs("productpage", {
  http: [
    { name: "v1", match: [{ uri: { prefix: "/productpage/v1" } }], route: dest("productpage-v1") },
    { name: "elsewhere", match: [{ uri: { prefix: "/reviews" } }], route: dest("reviews") },
    { route: dest("productpage"), timeout: "3s" },
  ],
});

describe("VirtualService delegation", () => {
  it("replaces a delegating route by the delegate's routes, narrowed to the root's match, inheriting its settings", () => {
    const warnings: string[] = [];
    const out = mergeDelegates(
      [
        root([
          {
            name: "pp",
            match: [{ uri: { prefix: "/productpage" }, headers: { "x-team": { exact: "a" } } }],
            delegate: { name: "productpage" },
            timeout: "10s",
            retries: { attempts: 2 },
          },
          { route: dest("fallback") },
        ]),
        productpage,
      ],
      (w) => warnings.push(w),
    );
    expect(warnings).toEqual([]);
    // The delegate itself serves nothing on its own.
    expect(out.map((v) => v.name)).toEqual(["root"]);
    expect(out[0]?.spec.http).toEqual([
      {
        name: "pp-v1",
        match: [{ uri: { prefix: "/productpage/v1" }, headers: { "x-team": { exact: "a" } } }],
        route: dest("productpage-v1"),
        timeout: "10s",
        retries: { attempts: 2 },
      },
      // /reviews is not under /productpage: dropped, as istiod drops it.
      {
        name: "pp",
        match: [{ uri: { prefix: "/productpage" }, headers: { "x-team": { exact: "a" } } }],
        route: dest("productpage"),
        timeout: "3s",
        retries: { attempts: 2 },
      },
      { route: dest("fallback") },
    ]);
  });

  it("leaves out a route whose delegate is missing or not exported to the root's namespace, and says why", () => {
    const warnings: string[] = [];
    const hidden = vs("hidden", { http: [{ route: dest("x") }], exportTo: ["."] }, "other");
    const out = mergeDelegates(
      [
        root([
          { match: [{ uri: { prefix: "/a" } }], delegate: { name: "nowhere" } },
          { match: [{ uri: { prefix: "/b" } }], delegate: { name: "hidden", namespace: "other" } },
          { route: dest("fallback") },
        ]),
        hidden,
      ],
      (w) => warnings.push(w),
    );
    expect(out[0]?.spec.http).toEqual([{ route: dest("fallback") }]);
    expect(warnings).toEqual([
      "VirtualService/shop/root: delegate shop/nowhere does not exist; its route is left out",
      "VirtualService/shop/root: delegate other/hidden is not exported to shop; its route is left out",
    ]);
  });

  it("leaves out a delegate's route that delegates again (config that came past validation), never looping", () => {
    const loop = vs("loop", { http: [{ delegate: { name: "loop" } }, { route: dest("x") }] });
    const out = mergeDelegates([root([{ delegate: { name: "loop" } }]), loop]);
    expect(out[0]?.spec.http).toEqual([{ route: dest("x") }]);
  });

  it("is applied when the model is built, and a delegate without hosts is valid", () => {
    const kube = (name: string, spec: VirtualService) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name, namespace: "shop" },
      spec,
    });
    const objects = [
      kube("root", {
        hosts: ["shop.example.com"],
        http: [{ match: [{ uri: { prefix: "/productpage" } }], delegate: { name: "productpage" } }],
      }),
      kube("productpage", productpage.spec),
    ];
    for (const o of objects) expect(validateObject(o)).toEqual([]);
    const { model } = normalise(objects);
    expect(model.virtualServices.map((v) => v.spec.http?.map((h) => h.name))).toEqual([["v1", undefined]]);
  });
});
