// ScoreEye annotator: the Streamlit component protocol by hand (componentReady / render / setComponentValue /
// setFrameHeight), a <canvas> for the unit's picture and boxes. No library, nothing fetched.
"use strict";

const HANDLE_PX = 6;       // handle size and grab distance, screen px
const GRAB_PX = 4;         // how close to a box's edge a click grabs it, screen px
const INSIDE_SPACES = 2.5; // boxes narrower than this (staff spaces) are grabbed anywhere inside; larger ones
                           // (staves, slurs, long beams) at their edges, so one can draw inside them
const MAX_ZOOM = 4;
const UNDO_STEPS = 100;

const S = {
  drawingId: null, image: null, imageWH: [1, 1], boxes: [], selected: -1, seq: 0, scale: 1, fit: 1,
  newClass: "", recent: [], classes: [], colours: {}, space: null, maxHeight: 760, undo: [], drag: null,
  hover: -1, lastArgsNewClass: null, widthSeen: 0,
};

const $ = (id) => document.getElementById(id);
const canvas = $("canvas"), ctx = canvas.getContext("2d"), view = $("view"), tip = $("tip");

function send(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data || {}), "*");
}
function setHeight() {
  send("streamlit:setFrameHeight", { height: Math.ceil(document.body.scrollHeight) + 2 });
}

// -- state out -----------------------------------------------------------------------------------------------

function report(action) {
  S.seq += 1;
  send("streamlit:setComponentValue", { dataType: "json", value: {
    drawing: S.drawingId, seq: S.seq, action: action || null, new_class: S.newClass, recent: S.recent,
    boxes: S.boxes.map((b) => ({ id: b.id, label: b.label, xyxy: [b.x0, b.y0, b.x1, b.y1], unsure: b.unsure,
                                 touched: b.touched })),
  } });
}

function snapshot() {
  S.undo.push(JSON.stringify(S.boxes));
  if (S.undo.length > UNDO_STEPS) S.undo.shift();
}

function used(label) {
  S.recent = [label].concat(S.recent.filter((c) => c !== label)).slice(0, 9);
}

// -- state in ------------------------------------------------------------------------------------------------

function onRender(args) {
  S.classes = args.classes || [];
  S.colours = args.colours || {};
  S.space = args.staff_space_px || null;
  S.maxHeight = args.max_height_px || 760;
  if (args.new_class !== S.lastArgsNewClass) {  // chosen on the page (or at start): it wins
    S.lastArgsNewClass = args.new_class;
    S.newClass = args.new_class || S.classes[0] || "";
  }
  if (!S.recent.length && args.recent) S.recent = args.recent.slice(0, 9);
  fillClassList();
  if (args.drawing_id !== S.drawingId) {
    S.drawingId = args.drawing_id;
    S.boxes = (args.boxes || []).map((b) => ({ id: b.id, label: b.label, x0: b.xyxy[0], y0: b.xyxy[1],
                                               x1: b.xyxy[2], y1: b.xyxy[3], unsure: !!b.unsure, touched: false }));
    S.selected = -1; S.undo = []; S.seq = 0;
    S.imageWH = args.image_wh;
    const image = new Image();
    image.onload = () => { S.image = image; layout(true); };
    image.src = args.image;
  } else {
    draw(); chrome();
  }
}

window.addEventListener("message", (event) => {
  if (event.data && event.data.type === "streamlit:render") onRender(event.data.args || {});
});

// -- layout and drawing ---------------------------------------------------------------------------------------

function fitScale() {
  const width = Math.max(100, view.clientWidth - 2);
  return width / S.imageWH[0];
}

function layout(keepZoom) {
  S.fit = fitScale();
  const saved = parseFloat(window.localStorage.getItem("scoreeye-annotator-zoom") || "0");
  const relative = keepZoom && saved >= 1 ? saved : 1; // zoom as a multiple of fit, kept between units
  S.scale = Math.min(Math.max(S.fit * relative, S.fit), Math.max(MAX_ZOOM, S.fit));
  const zoom = $("zoom");
  zoom.min = S.fit.toFixed(3); zoom.max = Math.max(MAX_ZOOM, S.fit).toFixed(3); zoom.value = S.scale;
  resize();
}

function resize() {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(S.imageWH[0] * S.scale), h = Math.round(S.imageWH[1] * S.scale);
  canvas.style.width = w + "px"; canvas.style.height = h + "px";
  canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  view.style.maxHeight = S.maxHeight + "px";
  view.style.overflowX = S.scale > S.fit + 1e-6 ? "auto" : "hidden"; // never sideways at fit
  $("zoomText").textContent = (S.scale <= S.fit + 1e-6 ? "fit, " : "") + S.scale.toFixed(2) + "x";
  draw(); chrome(); setHeight();
}

function setZoom(scale, anchor) {
  const old = S.scale;
  scale = Math.min(Math.max(scale, S.fit), Math.max(MAX_ZOOM, S.fit));
  const a = anchor || { x: view.clientWidth / 2, y: view.clientHeight / 2 };
  const ix = (view.scrollLeft + a.x) / old, iy = (view.scrollTop + a.y) / old;
  S.scale = scale;
  window.localStorage.setItem("scoreeye-annotator-zoom", String(scale / S.fit));
  $("zoom").value = scale;
  resize();
  view.scrollLeft = ix * scale - a.x; view.scrollTop = iy * scale - a.y;
}

function colour(label) { return S.colours[label] || "#1f77b4"; }

function draw() {
  const ratio = window.devicePixelRatio || 1;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (S.image) ctx.drawImage(S.image, 0, 0, S.imageWH[0] * S.scale, S.imageWH[1] * S.scale);
  ctx.lineWidth = 1.5;
  S.boxes.forEach((b, k) => {
    if (k === S.selected) return;
    ctx.strokeStyle = colour(b.label);
    ctx.setLineDash(b.unsure ? [4, 3] : []);
    ctx.lineWidth = k === S.hover ? 2.5 : 1.5;
    ctx.strokeRect(b.x0 * S.scale, b.y0 * S.scale, (b.x1 - b.x0) * S.scale, (b.y1 - b.y0) * S.scale);
  });
  ctx.setLineDash([]);
  if (S.drag && S.drag.kind === "new") {
    const d = S.drag;
    ctx.strokeStyle = colour(S.newClass); ctx.lineWidth = 2;
    ctx.strokeRect(Math.min(d.x0, d.x) * S.scale, Math.min(d.y0, d.y) * S.scale,
                   Math.abs(d.x - d.x0) * S.scale, Math.abs(d.y - d.y0) * S.scale);
  }
  if (S.selected >= 0) {
    const b = S.boxes[S.selected];
    const x = b.x0 * S.scale, y = b.y0 * S.scale, w = (b.x1 - b.x0) * S.scale, h = (b.y1 - b.y0) * S.scale;
    ctx.strokeStyle = colour(b.label); ctx.lineWidth = 2.5; ctx.setLineDash(b.unsure ? [4, 3] : []);
    ctx.strokeRect(x, y, w, h); ctx.setLineDash([]);
    ctx.fillStyle = "#fff"; ctx.strokeStyle = "#262730"; ctx.lineWidth = 1;
    handles(b).forEach((p) => {
      ctx.fillRect(p.x - HANDLE_PX / 2, p.y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
      ctx.strokeRect(p.x - HANDLE_PX / 2, p.y - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX);
    });
    const text = b.label + (b.unsure ? " (unsure)" : "");  // the one label drawn: the selected box's
    ctx.font = "13px 'Source Sans Pro', 'DejaVu Sans', sans-serif";
    const tw = ctx.measureText(text).width + 8, ty = y > 20 ? y - 19 : y + h + 3;
    const tx = Math.max(0, Math.min(x, S.imageWH[0] * S.scale - tw)); // a box at the right edge: its label inside
    ctx.fillStyle = "rgba(255,255,255,0.92)"; ctx.fillRect(tx, ty, tw, 17);
    ctx.strokeStyle = colour(b.label); ctx.strokeRect(tx, ty, tw, 17);
    ctx.fillStyle = "#262730"; ctx.fillText(text, tx + 4, ty + 13);
  }
}

function handles(b) {
  const x0 = b.x0 * S.scale, y0 = b.y0 * S.scale, x1 = b.x1 * S.scale, y1 = b.y1 * S.scale;
  const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
  return [{ x: x0, y: y0, e: "nw" }, { x: mx, y: y0, e: "n" }, { x: x1, y: y0, e: "ne" }, { x: x1, y: my, e: "e" },
          { x: x1, y: y1, e: "se" }, { x: mx, y: y1, e: "s" }, { x: x0, y: y1, e: "sw" }, { x: x0, y: my, e: "w" }];
}

function chrome() {
  const unsure = S.boxes.filter((b) => b.unsure).length;
  $("counts").textContent = S.boxes.length + " boxes" + (unsure ? ", " + unsure + " unsure" : "");
  $("newClass").innerHTML = "";
  $("newClass").append("New boxes: ", swatch(S.newClass), " " + S.newClass);
  const recent = $("recent"); recent.innerHTML = "";
  const title = document.createElement("span"); title.className = "label"; title.textContent = "Recent:";
  recent.append(title);
  S.recent.forEach((label, k) => recent.append(chip((k + 1) + " " + label, label, label === S.newClass)));
  const counts = {};
  S.boxes.forEach((b) => { counts[b.label] = (counts[b.label] || 0) + 1; });
  const legend = $("legend"); legend.innerHTML = "";
  const lt = document.createElement("span"); lt.className = "label"; lt.textContent = "Legend:"; legend.append(lt);
  Object.keys(counts).sort((a, b) => counts[b] - counts[a] || a.localeCompare(b))
    .forEach((label) => legend.append(chip(label + " " + counts[label], label, false)));
  if (unsure) {
    const u = document.createElement("span"); u.className = "chip"; u.title = "model confidence under the threshold";
    const d = document.createElement("span"); d.className = "dash"; u.append(d, " unsure " + unsure);
    legend.append(u);
  }
  setHeight();
}

function swatch(label) {
  const s = document.createElement("span"); s.className = "swatch"; s.style.background = colour(label); return s;
}

function chip(text, label, on) {
  const c = document.createElement("span");
  c.className = "chip" + (on ? " on" : "");
  c.title = "the selected box gets this class; with none selected, new boxes do";
  c.append(swatch(label), document.createTextNode(text));
  c.addEventListener("mousedown", (e) => { e.preventDefault(); applyClass(label); });
  return c;
}

function fillClassList() {
  const list = $("classList");
  if (list.childElementCount === S.classes.length) return;
  list.innerHTML = "";
  S.classes.forEach((c) => { const o = document.createElement("option"); o.value = c; list.append(o); });
}

// -- editing -------------------------------------------------------------------------------------------------

function applyClass(label) {
  if (!label || S.classes.indexOf(label) < 0) return;
  used(label);
  if (S.selected >= 0) {
    const b = S.boxes[S.selected];
    if (b.label !== label) {
      snapshot(); b.label = label; b.touched = true; b.unsure = false;
    }
    draw(); chrome(); report();
  } else {
    S.newClass = label; chrome(); report();
  }
}

function point(event) {
  const r = canvas.getBoundingClientRect();
  return { sx: event.clientX - r.left, sy: event.clientY - r.top,
           x: (event.clientX - r.left) / S.scale, y: (event.clientY - r.top) / S.scale };
}

function hit(p) {
  const grab = GRAB_PX / S.scale;
  let best = -1, area = Infinity;
  S.boxes.forEach((b, k) => {
    if (p.x < b.x0 - grab || p.x > b.x1 + grab || p.y < b.y0 - grab || p.y > b.y1 + grab) return;
    const small = S.space ? Math.min(b.x1 - b.x0, b.y1 - b.y0) < INSIDE_SPACES * S.space : true;
    const nearEdge = Math.abs(p.x - b.x0) <= grab || Math.abs(p.x - b.x1) <= grab ||
                     Math.abs(p.y - b.y0) <= grab || Math.abs(p.y - b.y1) <= grab;
    if (!small && !nearEdge) return;
    const a = (b.x1 - b.x0) * (b.y1 - b.y0);
    if (a < area) { area = a; best = k; }
  });
  return best;
}

function handleAt(p) {
  if (S.selected < 0) return null;
  const found = handles(S.boxes[S.selected]).find((h) => Math.abs(h.x - p.sx) <= HANDLE_PX && Math.abs(h.y - p.sy) <= HANDLE_PX);
  return found ? found.e : null;
}

canvas.addEventListener("mousedown", (event) => {
  $("root").focus();
  const p = point(event);
  const edge = handleAt(p);
  if (edge) {
    snapshot();
    S.drag = { kind: "resize", edge: edge, start: p, box: Object.assign({}, S.boxes[S.selected]), moved: false };
    return;
  }
  const k = hit(p);
  if (k >= 0 && event.shiftKey) {  // one step: this box gets the new-box class
    S.selected = k; applyClass(S.newClass); return;
  }
  if (k >= 0) {
    S.selected = k;
    snapshot();
    S.drag = { kind: "move", start: p, box: Object.assign({}, S.boxes[k]), moved: false };
    draw(); return;
  }
  S.selected = -1;
  S.drag = { kind: "new", x0: p.x, y0: p.y, x: p.x, y: p.y };
  draw();
});

window.addEventListener("mousemove", (event) => {
  const p = point(event);
  const d = S.drag;
  if (!d) {
    const k = hit(p);
    if (k !== S.hover) { S.hover = k; draw(); }
    if (k >= 0) {
      const b = S.boxes[k];
      tip.textContent = b.label + (b.unsure ? " (unsure)" : "");
      tip.style.display = "block";
      // beside the pointer, inside the visible part of the view (the tip scrolls with the canvas)
      const right = p.sx + 14 + tip.offsetWidth > view.scrollLeft + view.clientWidth;
      const below = p.sy + 12 + tip.offsetHeight > view.scrollTop + view.clientHeight;
      tip.style.left = (right ? p.sx - 10 - tip.offsetWidth : p.sx + 14) + "px";
      tip.style.top = (below ? p.sy - 8 - tip.offsetHeight : p.sy + 12) + "px";
    } else {
      tip.style.display = "none";
    }
    canvas.style.cursor = handleAt(p) ? "nwse-resize" : k >= 0 ? "move" : "crosshair";
    return;
  }
  tip.style.display = "none";
  if (d.kind === "new") { d.x = p.x; d.y = p.y; draw(); return; }
  const dx = p.x - d.start.x, dy = p.y - d.start.y;
  if (Math.abs(dx) * S.scale < 1 && Math.abs(dy) * S.scale < 1 && !d.moved) return;
  d.moved = true;
  const b = S.boxes[S.selected], o = d.box;
  if (d.kind === "move") {
    b.x0 = o.x0 + dx; b.x1 = o.x1 + dx; b.y0 = o.y0 + dy; b.y1 = o.y1 + dy;
  } else {
    if (d.edge.indexOf("w") >= 0) b.x0 = o.x0 + dx;
    if (d.edge.indexOf("e") >= 0) b.x1 = o.x1 + dx;
    if (d.edge.indexOf("n") >= 0) b.y0 = o.y0 + dy;
    if (d.edge.indexOf("s") >= 0) b.y1 = o.y1 + dy;
  }
  draw();
});

window.addEventListener("mouseup", () => {
  const d = S.drag;
  S.drag = null;
  if (!d) return;
  if (d.kind === "new") {
    const x0 = Math.min(d.x0, d.x), x1 = Math.max(d.x0, d.x), y0 = Math.min(d.y0, d.y), y1 = Math.max(d.y0, d.y);
    if ((x1 - x0) * S.scale >= 3 && (y1 - y0) * S.scale >= 3) {
      snapshot();
      S.boxes.push({ id: null, label: S.newClass, x0: clampX(x0), y0: clampY(y0), x1: clampX(x1), y1: clampY(y1),
                     unsure: false, touched: true });
      S.selected = S.boxes.length - 1;
      used(S.newClass);
      draw(); chrome(); report();
    } else {
      draw();
    }
    return;
  }
  if (!d.moved) { S.undo.pop(); draw(); return; }  // a click selects, nothing changed
  const b = S.boxes[S.selected];
  const nx0 = Math.min(b.x0, b.x1), nx1 = Math.max(b.x0, b.x1), ny0 = Math.min(b.y0, b.y1), ny1 = Math.max(b.y0, b.y1);
  b.x0 = nx0; b.x1 = nx1; b.y0 = ny0; b.y1 = ny1;
  b.touched = true; b.unsure = false;
  draw(); chrome(); report();
});

function clampX(x) { return Math.min(Math.max(x, 0), S.imageWH[0]); }
function clampY(y) { return Math.min(Math.max(y, 0), S.imageWH[1]); }

canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; if (S.hover >= 0) { S.hover = -1; draw(); } });

view.addEventListener("wheel", (event) => {
  if (!event.ctrlKey) return;  // plain wheel scrolls; Ctrl+wheel zooms at the pointer
  event.preventDefault();
  const r = view.getBoundingClientRect();
  setZoom(S.scale * (event.deltaY < 0 ? 1.15 : 1 / 1.15), { x: event.clientX - r.left, y: event.clientY - r.top });
}, { passive: false });

$("zoom").addEventListener("input", (e) => setZoom(parseFloat(e.target.value)));
$("fit").addEventListener("click", () => setZoom(S.fit));
$("undo").addEventListener("click", undo);

function undo() {
  if (!S.undo.length) return;
  S.boxes = JSON.parse(S.undo.pop());
  S.selected = -1;
  draw(); chrome(); report();
}

$("search").addEventListener("keydown", (event) => {
  event.stopPropagation();
  if (event.key === "Enter") {
    const typed = event.target.value.trim();
    const exact = S.classes.find((c) => c.toLowerCase() === typed.toLowerCase());
    const first = exact || S.classes.find((c) => c.toLowerCase().indexOf(typed.toLowerCase()) >= 0);
    if (first) { applyClass(first); event.target.value = ""; $("root").focus(); }
  } else if (event.key === "Escape") {
    event.target.value = ""; $("root").focus();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.target === $("search")) return;
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "Z")) { event.preventDefault(); undo(); return; }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if ((key === "Delete" || key === "Backspace") && S.selected >= 0) {
    event.preventDefault(); snapshot(); S.boxes.splice(S.selected, 1); S.selected = -1; draw(); chrome(); report();
  } else if (key === "Escape") {
    S.selected = -1; draw();
  } else if (key === "Tab") {
    event.preventDefault();
    if (!S.boxes.length) return;
    const order = S.boxes.map((b, k) => k).sort((a, b) => S.boxes[a].x0 - S.boxes[b].x0 || S.boxes[a].y0 - S.boxes[b].y0);
    const at = order.indexOf(S.selected);
    S.selected = order[(at + (event.shiftKey ? -1 : 1) + order.length) % order.length];
    reveal(S.boxes[S.selected]); draw();
  } else if (/^[1-9]$/.test(key) && S.recent[parseInt(key, 10) - 1]) {
    applyClass(S.recent[parseInt(key, 10) - 1]);
  } else if (key === "a" || key === "A") {
    report("accept");
  } else if (key === "n" || key === "N") {
    report("next");
  } else if (key === "p" || key === "P") {
    report("previous");
  } else if (key === "u" || key === "U") {
    report("remove_unsure");
  } else if (key === "+" || key === "=") {
    setZoom(S.scale * 1.25);
  } else if (key === "-") {
    setZoom(S.scale / 1.25);
  } else if (key === "0") {
    setZoom(S.fit);
  } else if (key.startsWith("Arrow") && S.selected >= 0) {
    event.preventDefault(); snapshot();
    const b = S.boxes[S.selected], step = 1;
    const dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
    const dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
    b.x0 += dx; b.x1 += dx; b.y0 += dy; b.y1 += dy; b.touched = true; b.unsure = false;
    draw(); report();
  }
});

function reveal(b) {
  const x = b.x0 * S.scale, y = b.y0 * S.scale;
  if (x < view.scrollLeft || x > view.scrollLeft + view.clientWidth - 20) view.scrollLeft = x - view.clientWidth / 3;
  if (y < view.scrollTop || y > view.scrollTop + view.clientHeight - 20) view.scrollTop = y - view.clientHeight / 3;
}

window.addEventListener("resize", () => {
  if (!S.image) return;
  const relative = S.scale / S.fit;
  S.fit = fitScale();
  S.scale = Math.min(Math.max(S.fit * relative, S.fit), Math.max(MAX_ZOOM, S.fit));
  $("zoom").min = S.fit.toFixed(3); $("zoom").value = S.scale;
  resize();
});

send("streamlit:componentReady", { apiVersion: 1 });
