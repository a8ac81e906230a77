// Draws a conlink --show-config JSON as SVG, without any library (this page
// must work offline). Input shape (SPEC §5):
//   {bridges:{NAME:{bridge,mode}}, tunnels:[{type,bridge,remote,vni}],
//    containers:{NAME:{links,commands}}, services:{NAME:{links,commands}}}
// The original's older flat form (top-level `links`) is accepted too.
// Layout: bridges in one row in the middle, services/containers in rows
// above and below (each near its bridges), host interfaces and tunnel
// remotes in a row at the bottom.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_W = 150, NODE_H = 40, GAP = 30, ROW = 150, MARGIN = 40;

// ---- model: the same reading of the JSON as net2dot's model.rs ----

function text(v) {
  return (typeof v === "string" || typeof v === "number") ? String(v) : null;
}

function isHostChild(type) {
  return /vlan$|vtap$/.test(type);
}

function buildModel(cfg) {
  if (!cfg || typeof cfg !== "object" || Array.isArray(cfg)) {
    throw new Error("show-config JSON must be an object");
  }
  const nodes = new Map();   // id -> {id, name, kind, label}
  const edges = [];          // {from, to, label: [lines]}
  const add = (id, name, kind, label) => {
    if (!nodes.has(id)) nodes.set(id, {id, name, kind, label});
    return id;
  };
  const bridge = (name, mode) => {
    const id = add("bridge:" + name, name, "bridge", "bridge " + name);
    if (mode) nodes.get(id).label = "bridge " + name + " (" + mode + ")";
    return id;
  };
  for (const [name, b] of Object.entries(cfg.bridges || {})) {
    bridge(text(b && b.bridge) || name, text(b && b.mode));
  }
  const addLink = (ownerId, link) => {
    const type = text(link.type) || "veth";
    const dev = text(link.dev) || "eth0";
    const ip = text(link.ip);
    let first = dev, target;
    if (isHostChild(type) && text(link["outer-dev"])) {
      const parent = text(link["outer-dev"]);
      target = add("host:" + parent, parent, "host", "host " + parent);
      first = type + " " + dev + (link.vlanid != null ? " (vlan " + link.vlanid + ")" : "");
    } else if (text(link.bridge)) {
      target = bridge(text(link.bridge), null);
    } else {
      // Nothing outside the container (dummy): a small interface node.
      target = add("intf:" + ownerId + ":" + dev, dev, "intf", dev);
      first = type + " " + dev;
    }
    edges.push({from: ownerId, to: target, label: ip ? [first, ip] : [first]});
  };
  for (const [key, kind] of [["services", "service"], ["containers", "container"]]) {
    for (const [name, entry] of Object.entries(cfg[key] || {})) {
      const id = add(kind + ":" + name, name, kind, kind + " " + name);
      for (const link of (entry && entry.links) || []) addLink(id, link);
    }
  }
  for (const link of cfg.links || []) {
    const svc = text(link.service), con = text(link.container);
    if (!svc && !con) continue;
    const id = svc ? add("service:" + svc, svc, "service", "service " + svc)
                   : add("container:" + con, con, "container", "container " + con);
    addLink(id, link);
  }
  for (const t of cfg.tunnels || []) {
    const br = bridge(text(t.bridge), null);
    const remote = add("remote:" + t.remote, text(t.remote), "remote", "remote " + t.remote);
    edges.push({from: br, to: remote, label: [t.type + " vni " + t.vni]});
  }
  return {nodes: [...nodes.values()], edges};
}

// ---- layout ----

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
  const bridges = model.nodes.filter(n => n.kind === "bridge");
  const owners = model.nodes.filter(n => n.kind === "service" || n.kind === "container");
  const outer = model.nodes.filter(n => n.kind === "host" || n.kind === "remote" || n.kind === "intf");
  const slots = Math.max(bridges.length, Math.ceil(owners.length / 2), outer.length, 1);
  const step = NODE_W + GAP;
  const rowWidth = n => n * step - GAP;
  const width = rowWidth(slots) + 2 * MARGIN;
  bridges.forEach((b, i) => {
    b.pref = MARGIN + (rowWidth(slots) - rowWidth(bridges.length)) / 2 + i * step;
  });
  spreadRow(bridges, MARGIN + ROW);
  const neighbours = n => model.edges
    .filter(e => e.from === n.id || e.to === n.id)
    .map(e => byId.get(e.from === n.id ? e.to : e.from))
    .filter(m => m.x !== undefined);
  const centre = (n, fallback) => {
    const ns = neighbours(n);
    return ns.length ? ns.reduce((s, m) => s + m.x, 0) / ns.length : fallback;
  };
  owners.forEach((n, i) => { n.pref = centre(n, MARGIN + i * step); });
  owners.sort((a, b) => a.pref - b.pref);
  spreadRow(owners.filter((_, i) => i % 2 === 0), MARGIN);
  spreadRow(owners.filter((_, i) => i % 2 === 1), MARGIN + 2 * ROW);
  outer.forEach((n, i) => { n.pref = centre(n, MARGIN + i * step); });
  spreadRow(outer, MARGIN + 3 * ROW);
  const right = Math.max(width, ...model.nodes.map(n => n.x + NODE_W + MARGIN));
  const bottom = outer.length ? MARGIN + 3 * ROW + NODE_H + MARGIN : MARGIN + 2 * ROW + NODE_H + MARGIN;
  return {width: right, height: bottom, byId};
}

// ---- drawing (DOM API only: names from the JSON are never parsed as markup) ----

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function draw(model) {
  const {width, height, byId} = layout(model);
  const svg = el("svg", {width, height, viewBox: `0 0 ${width} ${height}`});
  const bridges = model.nodes.filter(n => n.kind === "bridge");
  if (bridges.length) {
    const x0 = Math.min(...bridges.map(b => b.x)) - 15, x1 = Math.max(...bridges.map(b => b.x)) + NODE_W + 15;
    el("rect", {class: "zone", x: x0, y: MARGIN + ROW - 25, width: x1 - x0, height: NODE_H + 40, rx: 10}, svg);
    el("text", {class: "zone-label", x: x0 + 8, y: MARGIN + ROW - 12}, svg).textContent = "conlink network namespace";
  }
  const edgeLayer = el("g", {class: "edges"}, svg);
  for (const e of model.edges) {
    const a = byId.get(e.from), b = byId.get(e.to);
    const g = el("g", {class: "edge", "data-from": a.name, "data-to": b.name}, edgeLayer);
    const [ax, ay, bx, by] = [a.x + NODE_W / 2, a.y + NODE_H / 2, b.x + NODE_W / 2, b.y + NODE_H / 2];
    el("line", {x1: ax, y1: ay, x2: bx, y2: by}, g);
    const label = el("text", {x: (ax + bx) / 2, y: (ay + by) / 2 - 6 * (e.label.length - 1)}, g);
    e.label.forEach((line, i) => {
      const t = el("tspan", {x: (ax + bx) / 2, dy: i ? 13 : 0}, label);
      t.textContent = line;
    });
  }
  const nodeLayer = el("g", {class: "nodes"}, svg);
  for (const n of model.nodes) {
    const g = el("g", {class: "node " + n.kind, "data-name": n.name, "data-kind": n.kind,
                       transform: `translate(${n.x},${n.y})`}, nodeLayer);
    el("rect", {width: NODE_W, height: NODE_H, rx: n.kind === "bridge" ? 4 : 12}, g);
    el("text", {x: NODE_W / 2, y: NODE_H / 2}, g).textContent = n.label;
    el("title", {}, g).textContent = n.label;
  }
  return svg;
}

// ---- loading ----

function setStatus(message, isError) {
  const s = document.getElementById("status");
  s.textContent = message;
  s.className = isError ? "error" : "";
}

function render(jsonText, source) {
  const graph = document.getElementById("graph");
  try {
    const model = buildModel(JSON.parse(jsonText));
    graph.replaceChildren(draw(model));
    setStatus(`${source}: ${model.nodes.length} nodes, ${model.edges.length} links`, false);
    document.body.dataset.rendered = String(model.nodes.length);
  } catch (err) {
    graph.replaceChildren();
    setStatus(`${source}: ${err.message}`, true);
    document.body.dataset.rendered = "error";
  }
}

function init() {
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
