// Draws a conlink topology as SVG, without any library (the page must work
// offline). Two inputs:
//  - `conlink --show-config` JSON (file, paste or ?src=URL): the config only;
//  - the drawing JSON of `conlink graph --format json` / the live server's
//    /graph.json ({nodes:[{id,kind,name,label,zone}], edges:[{from,to,label,
//    state,netem,error}]}), polled when the page is served by `conlink graph --serve`.
// Layout: bridges in one row in the middle, services/containers in rows
// above and below (each near its bridges), host interfaces and tunnel
// remotes in a row at the bottom. Wheel zooms, dragging pans.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_W = 160, LINE_H = 15, GAP = 30, ROW = 170, MARGIN = 40, POLL_MS = 400;
// Same colours as dot/mermaid output (graph/draw.rs).
const STATE_COLOUR = {connected: "#2e7d32", down: "#ef6c00", failed: "#c62828", missing: "#9e9e9e"};
const STATE_DASH = {down: "8 4", missing: "2 4"};
const NODE_FILL = {
  bridge: ["#c8badc", "#6e509f"], service: ["#c1d0d7", "#7396a6"], container: ["#dfe8f1", "#7396a6"],
  host: ["#e8e8c8", "#af6b4e"], remote: ["#a5f5a5", "#888"], tunnel: ["#a5f5a5", "#888"], intf: ["#e8e8c8", "#af6b4e"],
};

// ---- model: show-config JSON read as graph/model.rs + draw.rs read it ----

function text(v) {
  return (typeof v === "string" || typeof v === "number") ? String(v) : null;
}

function texts(v) {
  return Array.isArray(v) ? v.map(text).filter(t => t !== null) : (text(v) === null ? [] : [text(v)]);
}

function isHostChild(type) {
  return /vlan$|vtap$/.test(type);
}

function fromShowConfig(cfg) {
  const nodes = new Map();   // id -> {id, kind, name, label, zone}
  const edges = [];
  const add = (id, kind, name, label, zone) => {
    if (!nodes.has(id)) nodes.set(id, {id, kind, name, label, zone});
    return id;
  };
  const bridge = (name, mode) => {
    const id = add("bridge:" + name, "bridge", name, ["bridge " + name], "conlink");
    if (mode && nodes.get(id).label.length === 1) nodes.get(id).label.push("(" + mode + ")");
    return id;
  };
  for (const [name, b] of Object.entries(cfg.bridges || {})) bridge(text(b && b.bridge) || name, text(b && b.mode));
  // The top-level `links` and services.*/containers.*.links hold the same
  // links twice: read the top-level list when there is one.
  const links = [];
  if (Array.isArray(cfg.links)) {
    links.push(...cfg.links);
  } else {
    for (const [key, field] of [["services", "service"], ["containers", "container"]]) {
      for (const [name, entry] of Object.entries(cfg[key] || {})) {
        for (const l of (entry && entry.links) || []) links.push(Object.assign({[field]: name}, l));
      }
    }
  }
  links.forEach((link, i) => {
    const svc = text(link.service), con = text(link.container);
    if (!svc && !con) throw new Error(`links/${i} has neither service nor container`);
    const owner = svc ? add("service:" + svc, "service", svc, ["service " + svc], "outside")
                      : add("container:" + con, "container", con, ["container " + con], "outside");
    const type = text(link.type) || "veth", dev = text(link.dev) || "eth0";
    let first = dev, target;
    if (isHostChild(type) && text(link["outer-dev"])) {
      const p = text(link["outer-dev"]);
      target = add("host:" + p, "host", p, ["host interface " + p], "host");
      first = type + " " + dev + (link.vlanid != null ? " (vlan " + link.vlanid + ")" : "");
    } else if (text(link.bridge)) {
      target = bridge(text(link.bridge), null);
    } else {
      target = add("intf:" + i, "intf", dev, [dev], "outside");
      first = type + " " + dev;
    }
    const netem = texts(link.netem);
    const label = [first, ...texts(link.ip)];
    if (netem.length) label.push("netem " + netem.join(" "));
    edges.push({from: owner, to: target, label, dev, ip: texts(link.ip), state: null,
                netem: netem.length ? netem.join(" ") : null, error: null});
  });
  for (const t of cfg.tunnels || []) {
    const br = bridge(text(t.bridge), null);
    const dev = text(t.type) + "-" + text(t.vni);
    const tun = add("tunnel:" + dev, "tunnel", dev, [dev], "conlink");
    const remote = add("remote:" + t.remote, "remote", text(t.remote), ["remote host " + t.remote], "outside");
    edges.push({from: br, to: tun, label: []});
    edges.push({from: tun, to: remote, label: [t.type + " vni " + t.vni]});
  }
  return {nodes: [...nodes.values()], edges};
}

function buildModel(json) {
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new Error("JSON must be an object (conlink --show-config or conlink graph --format json)");
  }
  if (json.error) throw new Error(json.error);
  if (Array.isArray(json.edges) && Array.isArray(json.nodes)) {
    return {nodes: json.nodes.map(n => Object.assign({}, n)), edges: json.edges,
            allConnected: json.all_connected, daemonError: json.daemon_error};
  }
  return fromShowConfig(json);
}

// ---- layout ----

const height = n => Math.max(2, n.label.length) * LINE_H + 12;

function spreadRow(items, y) {
  // Keep each item near its preferred x, but never overlapping.
  items.sort((a, b) => a.pref - b.pref);
  let next = MARGIN;
  for (const n of items) {
    n.x = Math.max(n.pref, next);
    n.y = y;
    next = n.x + NODE_W + GAP;
  }
}

function layout(model) {
  const byId = new Map(model.nodes.map(n => [n.id, n]));
  const middle = model.nodes.filter(n => n.zone === "conlink");
  const owners = model.nodes.filter(n => n.kind === "service" || n.kind === "container");
  const outer = model.nodes.filter(n => !middle.includes(n) && !owners.includes(n));
  const slots = Math.max(middle.length, Math.ceil(owners.length / 2), outer.length, 1);
  const step = NODE_W + GAP;
  const rowWidth = n => n * step - GAP;
  middle.forEach((b, i) => { b.pref = MARGIN + (rowWidth(slots) - rowWidth(middle.length)) / 2 + i * step; });
  spreadRow(middle, MARGIN + ROW);
  const neighbours = n => model.edges
    .filter(e => e.from === n.id || e.to === n.id)
    .map(e => byId.get(e.from === n.id ? e.to : e.from))
    .filter(m => m && m.x !== undefined);
  const centre = (n, fallback) => {
    const ns = neighbours(n);
    return ns.length ? ns.reduce((s, m) => s + m.x, 0) / ns.length : fallback;
  };
  owners.forEach((n, i) => { n.pref = centre(n, MARGIN + i * step); });
  owners.sort((a, b) => a.pref - b.pref || a.id.localeCompare(b.id));
  spreadRow(owners.filter((_, i) => i % 2 === 0), MARGIN);
  spreadRow(owners.filter((_, i) => i % 2 === 1), MARGIN + 2 * ROW);
  outer.forEach((n, i) => { n.pref = centre(n, MARGIN + i * step); });
  spreadRow(outer, MARGIN + 3 * ROW);
  const width = Math.max(rowWidth(slots) + 2 * MARGIN, ...model.nodes.map(n => n.x + NODE_W + MARGIN));
  const bottom = Math.max(...model.nodes.map(n => n.y + height(n)), MARGIN) + MARGIN;
  return {width, height: bottom, byId};
}

// ---- drawing (DOM API only: names from the JSON are never parsed as markup) ----

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// Colours are attributes, not CSS, so an exported SVG looks the same alone.
function drawInto(g, model) {
  const {width, height: h, byId} = layout(model);
  g.replaceChildren();
  const middle = model.nodes.filter(n => n.zone === "conlink");
  if (middle.length) {
    const x0 = Math.min(...middle.map(b => b.x)) - 15, x1 = Math.max(...middle.map(b => b.x)) + NODE_W + 15;
    const y1 = Math.max(...middle.map(b => b.y + height(b))) + 15;
    el("rect", {class: "zone", x: x0, y: MARGIN + ROW - 25, width: x1 - x0, height: y1 - (MARGIN + ROW - 25),
                rx: 10, fill: "#c5d1e7", stroke: "#7396a0", "stroke-width": 2}, g);
    el("text", {class: "zone-label", x: x0 + 8, y: MARGIN + ROW - 12, "font-size": 12, fill: "#456"}, g)
      .textContent = "conlink network namespace";
  }
  const edgeLayer = el("g", {class: "edges"}, g);
  for (const e of model.edges) {
    const a = byId.get(e.from), b = byId.get(e.to);
    if (!a || !b) continue;
    const state = e.state || "";
    const colour = STATE_COLOUR[state] || "#555";
    const eg = el("g", {class: "edge" + (state ? " " + state : ""), "data-from": e.from, "data-to": e.to,
                        "data-dev": e.dev || "", "data-state": state}, edgeLayer);
    const [ax, ay, bx, by] = [a.x + NODE_W / 2, a.y + height(a) / 2, b.x + NODE_W / 2, b.y + height(b) / 2];
    const line = el("line", {x1: ax, y1: ay, x2: bx, y2: by, stroke: colour, "stroke-width": state ? 2.5 : 1.5}, eg);
    if (STATE_DASH[state]) line.setAttribute("stroke-dasharray", STATE_DASH[state]);
    const label = el("text", {x: (ax + bx) / 2, y: (ay + by) / 2 - 6 * (e.label.length - 1), "font-size": 11,
                              "text-anchor": "middle", fill: state ? colour : "#333", "paint-order": "stroke",
                              stroke: "#fff", "stroke-width": 3}, eg);
    e.label.forEach((l, i) => { el("tspan", {x: (ax + bx) / 2, dy: i ? 13 : 0}, label).textContent = l; });
    const tip = [state || "configured", e.error].filter(Boolean).join(": ");
    el("title", {}, eg).textContent = e.label.join(" ") + (tip ? " — " + tip : "");
  }
  const nodeLayer = el("g", {class: "nodes"}, g);
  for (const n of model.nodes) {
    const [fill, stroke] = NODE_FILL[n.kind] || NODE_FILL.container;
    const ng = el("g", {class: "node " + n.kind, "data-id": n.id, "data-name": n.name, "data-kind": n.kind,
                        transform: `translate(${n.x},${n.y})`}, nodeLayer);
    el("rect", {width: NODE_W, height: height(n), rx: n.kind === "bridge" ? 4 : 12, fill, stroke,
                "stroke-width": 1.5}, ng);
    const t = el("text", {x: NODE_W / 2, y: height(n) / 2 - (n.label.length - 1) * LINE_H / 2, "font-size": 13,
                          "text-anchor": "middle", "dominant-baseline": "middle"}, ng);
    n.label.forEach((l, i) => { el("tspan", {x: NODE_W / 2, dy: i ? LINE_H : 0}, t).textContent = l; });
    el("title", {}, ng).textContent = n.label.join(" ");
  }
  return {width, height: h};
}

// ---- view: one persistent <svg>, zoom and pan kept across updates ----

const view = {svg: null, g: null, k: 1, x: 0, y: 0, size: null, fitted: false};

function applyView() {
  view.g.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
}

function fit() {
  if (!view.size) return;
  const box = view.svg.getBoundingClientRect();
  view.k = Math.min(box.width / view.size.width, box.height / view.size.height, 1.5) || 1;
  view.x = (box.width - view.size.width * view.k) / 2;
  view.y = 0;
  applyView();
}

function initView() {
  const graph = document.getElementById("graph");
  view.svg = el("svg", {id: "canvas", xmlns: SVG_NS, width: "100%", height: "100%", "font-family": "Helvetica, Arial, sans-serif"});
  view.g = el("g", {id: "viewport"}, view.svg);
  graph.replaceChildren(view.svg);
  view.svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const r = view.svg.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    const f = Math.exp(-ev.deltaY * 0.0015), k = Math.min(8, Math.max(0.1, view.k * f));
    view.x = px - (px - view.x) * (k / view.k);
    view.y = py - (py - view.y) * (k / view.k);
    view.k = k;
    applyView();
  }, {passive: false});
  let drag = null;
  view.svg.addEventListener("pointerdown", ev => { drag = {x: ev.clientX - view.x, y: ev.clientY - view.y}; });
  window.addEventListener("pointermove", ev => {
    if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; applyView(); }
  });
  window.addEventListener("pointerup", () => { drag = null; });
}

// ---- export ----

function svgText() {
  const copy = el("svg", {xmlns: SVG_NS, width: view.size.width, height: view.size.height,
                          viewBox: `0 0 ${view.size.width} ${view.size.height}`,
                          "font-family": "Helvetica, Arial, sans-serif"});
  el("rect", {width: "100%", height: "100%", fill: "#fff"}, copy);
  const g = view.g.cloneNode(true);
  g.removeAttribute("transform");
  copy.appendChild(g);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
}

function download(name, type, content) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([content], {type}));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// ---- loading ----

function setStatus(message, isError) {
  const s = document.getElementById("status");
  s.textContent = message;
  s.className = isError ? "error" : "";
}

function summary(model) {
  const counts = {};
  for (const e of model.edges) if (e.state) counts[e.state] = (counts[e.state] || 0) + 1;
  const states = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ");
  const links = model.edges.filter(e => e.dev !== undefined && e.dev !== null).length;
  return `${model.nodes.length} nodes, ${links} links` + (states ? ` (${states})` : "");
}

let lastText = null, updates = 0;

function render(jsonText, source) {
  if (jsonText === lastText) return;
  lastText = jsonText;
  try {
    const model = buildModel(JSON.parse(jsonText));
    view.size = drawInto(view.g, model);
    if (!view.fitted) { fit(); view.fitted = true; }
    let msg = `${source}: ${summary(model)}`;
    if (model.allConnected === true) msg += " — all links connected";
    if (model.daemonError) msg += ` — daemon not reachable: ${model.daemonError}`;
    setStatus(msg, !!model.daemonError);
    document.body.dataset.rendered = String(model.nodes.length);
    delete document.body.dataset.stale;
    document.body.dataset.updates = String(++updates);
  } catch (err) {
    if (source === "live" && view.size) {
      // The daemon went away: keep the last drawing, say it is stale.
      setStatus(`live: ${err.message} — showing the last known state`, true);
      document.body.dataset.stale = "1";
      return;
    }
    view.g.replaceChildren();
    view.size = null;
    setStatus(`${source}: ${err.message}`, true);
    document.body.dataset.rendered = "error";
  }
}

function poll(url) {
  fetch(url, {cache: "no-store"})
    .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
    .then(t => render(t, "live"))
    .catch(err => { lastText = null; setStatus(`live: ${err.message} (is conlink graph --serve running?)`, true); })
    .finally(() => setTimeout(() => poll(url), POLL_MS));
}

function init() {
  initView();
  const live = document.body.dataset.live;
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("export-svg").addEventListener("click", () => {
    if (view.size) download("conlink.svg", "image/svg+xml", svgText());
  });
  for (const id of ["export-dot", "export-mermaid"]) document.getElementById(id).hidden = !live;
  document.getElementById("loaders").hidden = !!live;
  if (live) {
    poll(live);
    return;
  }
  document.getElementById("file").addEventListener("change", ev => {
    const f = ev.target.files[0];
    if (f) f.text().then(t => render(t, f.name));
  });
  document.getElementById("render-paste").addEventListener("click", () => {
    render(document.getElementById("paste").value, "pasted JSON");
  });
  const src = new URLSearchParams(location.search).get("src");
  if (src) {
    setStatus(`loading ${src} …`, false);
    fetch(src)
      .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.text(); })
      .then(t => render(t, src))
      .catch(err => { setStatus(`${src}: ${err.message}`, true); document.body.dataset.rendered = "error"; });
  }
}

init();
