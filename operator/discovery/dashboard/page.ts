// The dashboard page, its style and its script: no framework, no CDN, plain SVG and a layered layout of its own.
// Everything shown from the graph (workload names, errors: text a workload chooses) goes through textContent or
// setAttribute, never innerHTML, and the Content-Security-Policy allows only these files and the event stream.
import { DASHBOARD_SCRIPT_PATH, DASHBOARD_STYLE_PATH, GRAPH_EVENTS_PATH } from "./contract.js";

const rel = (p: string): string => p.slice(1); // relative to /dashboard, so the page works under a proxy's prefix

export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Weft service graph</title>
<link rel="stylesheet" href="${rel(DASHBOARD_STYLE_PATH)}">
<script src="${rel(DASHBOARD_SCRIPT_PATH)}" defer></script>
</head>
<body>
<header><h1>Weft service graph</h1><span id="status">connecting…</span></header>
<main>
<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="service graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
<g id="edges"></g><g id="nodes"></g>
</svg>
<aside id="details"><p class="hint">Click a workload for its traffic and its proxies.</p></aside>
</main>
<div id="config" data-events="${rel(GRAPH_EVENTS_PATH)}" hidden></div>
</body>
</html>
`;

export const DASHBOARD_CSS = `
body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { display: flex; gap: 1em; align-items: baseline; padding: .5em 1em; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
main { display: flex; height: calc(100vh - 2.6em); }
#graph { flex: 1; }
#details { width: 26em; overflow: auto; padding: 0 1em; background: #fff; border-left: 1px solid #ddd; }
.node circle { fill: #fff; stroke: #3b6fd4; stroke-width: 2; cursor: pointer; }
.node.selected circle { fill: #dce7fb; }
.node.failing circle { stroke: #c8302c; }
.node text { text-anchor: middle; font-size: 12px; pointer-events: none; }
.edge path { fill: none; stroke: #8a94a6; stroke-width: 1.5; }
.edge.errors path { stroke: #c8302c; }
.edge.idle path { stroke-dasharray: 4 3; }
.edge text { font-size: 11px; fill: #414b5c; text-anchor: middle; paint-order: stroke; stroke: #f6f7f9; stroke-width: 4px; }
marker path { fill: #8a94a6; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
td, th { border-bottom: 1px solid #eee; padding: 2px 4px; text-align: left; font-size: 12px; }
.bad { color: #c8302c; }
.hint { color: #777; }
`;

export const DASHBOARD_JS = `"use strict";
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let graph = { nodes: [], edges: [] };
  let selected = null;
  const el = (ns, tag, attrs, text) => {
    const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const pct = (x) => (x === undefined ? "–" : (x * 100).toFixed(1) + "%");
  const ms = (x) => (x === undefined ? "–" : x + " ms");
  const label = (e) => e.rps.toFixed(2) + " rps · " + pct(e.successRate) + " · p50 " + ms(e.p50) + " p99 " + ms(e.p99);

  // Layers: a workload's column is the length of the longest call chain into it (cycles cut at the node count).
  function layout(nodes, edges, width, height) {
    const depth = new Map(nodes.map((n) => [n.id, 0]));
    for (let i = 0; i < nodes.length; i++)
      for (const e of edges)
        if (e.source !== e.destination && depth.get(e.destination) <= depth.get(e.source))
          depth.set(e.destination, Math.min(depth.get(e.source) + 1, nodes.length));
    const columns = [];
    for (const n of nodes) (columns[depth.get(n.id)] = columns[depth.get(n.id)] || []).push(n);
    const used = columns.filter(Boolean);
    const pos = new Map();
    used.forEach((col, c) =>
      col.forEach((n, r) =>
        pos.set(n.id, { x: ((c + 0.5) * width) / used.length, y: ((r + 0.5) * height) / col.length }),
      ),
    );
    return pos;
  }

  function render() {
    const svg = $("graph");
    const { width, height } = svg.getBoundingClientRect();
    const pos = layout(graph.nodes, graph.edges, Math.max(width, 300), Math.max(height, 200));
    const edges = $("edges");
    const nodes = $("nodes");
    edges.replaceChildren();
    nodes.replaceChildren();
    const R = 26;
    for (const e of graph.edges) {
      const a = pos.get(e.source), b = pos.get(e.destination);
      if (!a || !b) continue;
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const x1 = a.x + (dx * R) / len, y1 = a.y + (dy * R) / len, x2 = b.x - (dx * R) / len, y2 = b.y - (dy * R) / len;
      const cls = "edge" + (e.successRate !== undefined && e.successRate < 1 ? " errors" : "") + (e.rps === 0 ? " idle" : "");
      const g = el(SVG, "g", { class: cls, "data-source": e.source, "data-destination": e.destination, "data-rps": e.rps });
      g.append(el(SVG, "path", { d: "M" + x1 + "," + y1 + " L" + x2 + "," + y2, "marker-end": "url(#arrow)" }));
      g.append(el(SVG, "text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6 }, label(e)));
      edges.append(g);
    }
    for (const n of graph.nodes) {
      const p = pos.get(n.id);
      const failing = n.proxies.some((x) => x.nacks.length || Object.values(x.sync).includes("NACKED"));
      const g = el(SVG, "g", { class: "node" + (n.id === selected ? " selected" : "") + (failing ? " failing" : ""), "data-id": n.id, tabindex: 0 });
      g.append(el(SVG, "circle", { cx: p.x, cy: p.y, r: R }));
      g.append(el(SVG, "text", { x: p.x, y: p.y + R + 14 }, n.name));
      g.append(el(SVG, "text", { x: p.x, y: p.y + 4 }, n.namespace));
      g.addEventListener("click", () => { selected = n.id; render(); });
      nodes.append(g);
    }
    details();
  }

  function trafficTable(title, edges, peer) {
    const t = el(null, "table", { class: title.toLowerCase() });
    const head = el(null, "tr");
    for (const h of [title === "Inbound" ? "from" : "to", "rps", "success", "p50", "p99"]) head.append(el(null, "th", {}, h));
    t.append(head);
    for (const e of edges) {
      const tr = el(null, "tr");
      for (const v of [peer(e), e.rps.toFixed(2), pct(e.successRate), ms(e.p50), ms(e.p99)]) tr.append(el(null, "td", {}, v));
      t.append(tr);
    }
    return [el(null, "h3", {}, title), edges.length ? t : el(null, "p", { class: "hint" }, "none")];
  }

  function details() {
    const box = $("details");
    const n = graph.nodes.find((x) => x.id === selected);
    if (!n) return;
    const parts = [el(null, "h2", {}, n.id)];
    parts.push(...trafficTable("Inbound", graph.edges.filter((e) => e.destination === n.id), (e) => e.source));
    parts.push(...trafficTable("Outbound", graph.edges.filter((e) => e.source === n.id), (e) => e.destination));
    parts.push(el(null, "h3", {}, "Proxies"));
    if (!n.proxies.length) parts.push(el(null, "p", { class: "hint" }, "no proxy of this workload is connected to " + graph.replica));
    for (const p of n.proxies) {
      const t = el(null, "table", { class: "proxy", "data-node": p.node });
      const row = (k, v, bad) => { const tr = el(null, "tr"); tr.append(el(null, "th", {}, k), el(null, "td", bad ? { class: "bad" } : {}, v)); t.append(tr); };
      row("node", p.node);
      row("engine", p.engine || "unknown");
      for (const [type, state] of Object.entries(p.sync)) row(type, state, state !== "SYNCED");
      if (p.scrapeError) row("metrics", p.scrapeError, true);
      for (const x of p.nacks) row("NACK " + x.type, x.at + " " + x.version + ": " + x.error, true);
      if (!p.nacks.length) row("NACKs", "none recently");
      parts.push(t);
    }
    box.replaceChildren(...parts);
  }

  function connect() {
    const src = new EventSource($("config").dataset.events);
    src.addEventListener("graph", (ev) => {
      graph = JSON.parse(ev.data);
      $("status").textContent = graph.replica + " · " + graph.nodes.length + " workloads · rates over " + graph.windowSeconds + " s · " + new Date(graph.at).toLocaleTimeString();
      render();
    });
    src.onerror = () => { $("status").textContent = "reconnecting…"; };
  }
  window.addEventListener("resize", render);
  connect();
})();
`;
