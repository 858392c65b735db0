// tracegrad playground: the page. It draws what the server sends and posts the form and
// the buttons back; all training happens on the server, in Python, on tracegrad.
"use strict";

const NEGATIVE = [245, 147, 34];   // orange: class 0, negative weights and outputs
const POSITIVE = [8, 119, 189];    // blue: class 1, positive weights and outputs
const PALETTE = [NEGATIVE, POSITIVE, [60, 160, 60], [200, 50, 120], [120, 90, 200]];
const HISTORY_LIMIT = 4000;        // points kept per curve; older ones are thinned

const state = {
  session: null,      // the server's session id
  run: null,          // the session event: data, sizes, code...
  connected: false,
  sessions: 0,        // sessions opened by this tab (a reconnection re-sends the form)
  playing: false,
  epoch: 0,
  history: [],        // one record per epoch (thinned when long)
  firstRecords: [],   // the first epochs' records, never thinned
  frame: null,
  frames: [],         // arrival times of the last updates, for the updates/s counter
  neuron: null,       // {layer, index} shown in the graph view
  point: 0,           // the training point the neuron's graph is drawn on
  gradients: null,
};
window.playground = state;  // for the browser tests and the curious

const $ = (id) => document.getElementById(id);
const form = $("settings");

// -- talking to the server --------------------------------------------------------------

async function command(action, extra) {
  if (!state.session) return null;
  let response;
  try {
    response = await fetch(`/api/sessions/${state.session}`, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({action, ...extra}),
    });
  } catch (error) {
    showMessage(`the server cannot be reached: ${error.message}`);
    return null;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok && !body.errors) showMessage(body.error || `the server said ${response.status}`);
  return {ok: response.ok, body};
}

function readForm() {
  const values = {};
  for (const element of form.elements) {
    if (element.name) values[element.name] = element.value;
  }
  return values;
}

function showErrors(errors) {
  for (const span of document.querySelectorAll(".error")) {
    const text = errors[span.dataset.for] || "";
    span.textContent = text;
    const field = $(span.dataset.for);
    if (field) field.classList.toggle("invalid", Boolean(text));
  }
  const shown = new Set([...document.querySelectorAll(".error")].map((s) => s.dataset.for));
  const others = Object.entries(errors).filter(([key]) => !shown.has(key));
  if (others.length) showMessage(others.map(([, text]) => text).join("; "));
}

let settingsTimer = null;
function settingsChanged() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(sendSettings, 250);
}

async function sendSettings() {
  const reply = await command("settings", {form: readForm()});
  if (!reply) return;
  if (reply.body.errors) {
    showErrors(reply.body.errors);
    setStatus("fix the marked fields: the run goes on with the last good settings");
  } else if (reply.ok) {
    showErrors({});
    hideMessage();
  }
}

function connect() {
  const events = new EventSource("/api/stream");
  events.addEventListener("session", (e) => onSession(JSON.parse(e.data)));
  events.addEventListener("frame", (e) => onFrame(JSON.parse(e.data)));
  events.addEventListener("state", (e) => onState(JSON.parse(e.data)));
  events.addEventListener("message", (e) => showMessage(JSON.parse(e.data).text));
  events.addEventListener("neuron", (e) => onNeuron(JSON.parse(e.data)));
  events.onopen = () => { state.connected = true; };
  events.onerror = () => {
    state.connected = false;
    state.session = null;
    setStatus("disconnected from the server: reconnecting…");
  };
}

// -- events -----------------------------------------------------------------------------

function onSession(run) {
  const reconnected = state.session === null && state.sessions > 0 && run.id !== state.run?.id;
  state.session = run.id;
  state.run = run;
  state.sessions += 1;
  state.history = [];
  state.firstRecords = [];
  state.epoch = 0;
  state.gradients = null;
  if (reconnected) {
    sendSettings();  // a new server session: give it this page's settings
  } else {
    fillForm(run.settings);
  }
  if (state.neuron && (state.neuron.layer >= run.sizes.length - 1 ||
      state.neuron.index >= run.sizes[state.neuron.layer + 1])) {
    state.neuron = null;
  }
  state.point = Math.min(state.point, run.train.y.length - 1);
  adaptForm(run);
  buildNetwork(run);
  showCode();
  setStatus(`${run.engine === "value" ? "Value" : "Tensor"} engine, ` +
    `${run.sizes.join("-")} ${run.activation} network, ` +
    `${run.train.y.length} training and ${run.test.y.length} test points`);
  if (state.neuron) requestNeuron();
}

function onFrame(frame) {
  state.frame = frame;
  state.epoch = frame.epoch;
  for (const record of frame.records) {
    state.history.push(record);
    if (state.firstRecords.length < 200) state.firstRecords.push(record);
  }
  if (state.history.length > HISTORY_LIMIT) {
    state.history = state.history.filter((_, i) => i % 2 === 0 || i === state.history.length - 1);
  }
  if (frame.gradients) state.gradients = frame.gradients;
  const now = performance.now();
  state.frames.push(now);
  while (state.frames.length && now - state.frames[0] > 2000) state.frames.shift();
  $("epoch").textContent = frame.epoch.toLocaleString("en");
  drawOutput();
  drawNetwork();
  drawCurves();
  showCode();
  showGradients();
}

function onState(update) {
  state.playing = update.playing;
  state.epoch = update.epoch;
  $("epoch").textContent = update.epoch.toLocaleString("en");
  const play = $("play");
  play.innerHTML = state.playing ? "&#x2016; pause" : "&#x25b6; play";
  play.dataset.playing = String(state.playing);
  if (!state.playing) $("fps").textContent = "0";
  if (!state.playing && state.neuron) requestNeuron();
}

function onNeuron(drawing) {
  $("neuron-title").textContent = drawing.title;
  const holder = $("neuron-graph");
  holder.replaceChildren();
  const dot = $("neuron-dot");
  if (drawing.svg) {
    const svg = new DOMParser().parseFromString(drawing.svg, "image/svg+xml").documentElement;
    holder.appendChild(document.importNode(svg, true));
    dot.hidden = true;
  } else {
    dot.textContent = drawing.dot;
    dot.hidden = false;
    showMessage(drawing.note);
  }
  $("neuron-code").textContent = drawing.source;
  const list = $("backward");
  list.replaceChildren();
  for (const step of drawing.backward) {
    const item = document.createElement("li");
    const node = document.createElement("code");
    node.textContent = step.node;
    const gradient = document.createElement("span");
    gradient.className = "gradient";
    gradient.textContent = step.gradient;
    const rule = document.createElement("div");
    rule.className = "rule";
    rule.textContent = step.op ? `rule ${step.op}: ${step.rule}` : step.rule;
    item.append(node, " ", gradient, rule);
    list.appendChild(item);
  }
}

// -- the form ---------------------------------------------------------------------------

function fillForm(settings) {
  for (const [name, value] of Object.entries(settings)) {
    const field = form.elements.namedItem(name);
    if (field && field !== document.activeElement) field.value = value;
  }
  showErrors({});
}

const LOSSES = {
  binary: ["binary_cross_entropy", "hinge_loss"],
  multiclass: ["cross_entropy"],
  regression: ["mse_loss", "l1_loss"],
};
const NOISE_NAMES = {blobs: "spread (std)", classification: "flipped labels (share)"};

function taskOf() {
  const dataset = $("dataset").value;
  if (dataset === "regression") return "regression";
  const classes = ["spiral", "blobs"].includes(dataset) ? Number($("classes").value) : 2;
  return classes > 2 ? "multiclass" : "binary";
}

function adaptForm() {
  const dataset = $("dataset").value;
  $("classes-field").hidden = !["spiral", "blobs"].includes(dataset);
  $("noise-name").textContent = NOISE_NAMES[dataset] || "noise";
  const allowed = LOSSES[taskOf()];
  for (const option of $("loss").options) option.disabled = !allowed.includes(option.value);
  if (!allowed.includes($("loss").value)) $("loss").value = allowed[0];
}

const DEFAULT_NOISE = {moons: 0.1, circles: 0.1, xor: 0.1, spiral: 0.2, blobs: 0.6,
  classification: 0.2, regression: 0.3};

form.addEventListener("change", (event) => {
  if (!event.target.name) return;  // a view's checkbox, not a setting
  if (event.target.id === "dataset") $("noise").value = DEFAULT_NOISE[event.target.value];
  adaptForm();
  settingsChanged();
});
form.addEventListener("input", (event) => {
  if (event.target.tagName !== "INPUT" || !event.target.name) return;
  adaptForm();
  settingsChanged();
});
form.addEventListener("submit", (event) => { event.preventDefault(); sendSettings(); });

// -- buttons ------------------------------------------------------------------------------

$("play").addEventListener("click", () => command(state.playing ? "pause" : "play"));
$("step").addEventListener("click", () => command("step"));
$("reset").addEventListener("click", () => command("reset"));
$("show-gradients").addEventListener("change", (e) => command("gradients", {on: e.target.checked}));
$("show-test").addEventListener("change", drawOutput);
$("copy").addEventListener("click", async () => {
  const text = $("code").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("code"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    document.execCommand("copy");
  }
  $("copied").textContent = "copied";
  setTimeout(() => { $("copied").textContent = ""; }, 1500);
});
$("output-points").addEventListener("click", (event) => {
  if (!state.run || state.run.task === "regression") return;
  const canvas = event.currentTarget;
  const rect = canvas.getBoundingClientRect();
  const [x0, x1, y0, y1] = state.run.box;
  const x = x0 + (event.clientX - rect.left) / rect.width * (x1 - x0);
  const y = y1 - (event.clientY - rect.top) / rect.height * (y1 - y0);
  let best = 0;
  let bestDistance = Infinity;
  state.run.train.X.forEach(([px, py], i) => {
    const distance = (px - x) ** 2 + (py - y) ** 2;
    if (distance < bestDistance) { best = i; bestDistance = distance; }
  });
  state.point = best;
  drawOutput();
  if (state.neuron) requestNeuron();
});

function requestNeuron() {
  if (!state.neuron) return;
  command("neuron", {layer: state.neuron.layer, index: state.neuron.index, point: state.point});
}

// -- messages -------------------------------------------------------------------------------

function setStatus(text) { $("status").textContent = text; }
function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = false;
}
function hideMessage() { $("message").hidden = true; }

// -- colours and pictures ---------------------------------------------------------------------

function decode(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// A value in [-1, 1] as a colour: orange below 0, white at 0, blue above.
function diverging(t, strength = 0.85) {
  const base = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.min(1, Math.abs(t)) * strength;
  return base.map((c) => Math.round(255 + (c - 255) * a));
}

function paint(canvas, bytes, colour) {
  const size = Math.round(Math.sqrt(bytes.length));
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  const image = context.createImageData(size, size);
  for (let i = 0; i < bytes.length; i++) {
    const [r, g, b] = colour(i);
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

function paintScores(canvas, pixels) {
  const bytes = decode(pixels);
  paint(canvas, bytes, (i) => diverging(bytes[i] / 127.5 - 1));
}

function paintOutput(canvas, output) {
  if (output.kind === "score") {
    paintScores(canvas, output.pixels);
  } else if (output.kind === "classes") {
    const classes = decode(output.classes);
    const confidence = decode(output.confidence);
    paint(canvas, classes, (i) => {
      const base = PALETTE[classes[i] % PALETTE.length];
      const a = 0.25 + 0.6 * (confidence[i] / 255);
      return base.map((c) => Math.round(255 + (c - 255) * a));
    });
  }
}

function drawCurveInto(canvas, values, box, colour) {
  // A curve over the input line (regression): values along x, in the box's y range.
  const context = canvas.getContext("2d");
  const [low, high] = box;
  context.strokeStyle = colour;
  context.lineWidth = 2;
  context.beginPath();
  values.forEach((v, i) => {
    const x = i / (values.length - 1) * canvas.width;
    const y = canvas.height * (1 - (v - low) / (high - low || 1));
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

function drawOutput() {
  const run = state.run;
  const frame = state.frame;
  if (!run || !frame) return;
  const picture = $("output-picture");
  const points = $("output-points");
  const ratio = window.devicePixelRatio || 1;
  const size = points.clientWidth || 300;
  points.width = size * ratio;
  points.height = size * ratio;
  const context = points.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, size, size);
  const showTest = $("show-test").checked;
  if (run.task === "regression") {
    picture.getContext("2d").clearRect(0, 0, picture.width, picture.height);
    const [x0, x1] = run.box;
    const ys = [...run.train.y, ...run.test.y];
    const low = Math.min(...ys) - 0.5;
    const high = Math.max(...ys) + 0.5;
    const toX = (x) => (x - x0) / (x1 - x0) * size;
    const toY = (y) => size * (1 - (y - low) / (high - low));
    const dot = (x, y, fill, ring) => {
      context.beginPath();
      context.arc(toX(x), toY(y), 2.5, 0, 2 * Math.PI);
      context.fillStyle = fill;
      context.fill();
      if (ring) { context.strokeStyle = "#222"; context.stroke(); }
    };
    run.train.X.forEach(([x], i) => dot(x, run.train.y[i], "rgba(8,119,189,0.7)", false));
    if (showTest) run.test.X.forEach(([x], i) => dot(x, run.test.y[i], "white", true));
    const values = frame.output.values;
    context.strokeStyle = "#d62728";
    context.lineWidth = 2.5;
    context.beginPath();
    values.forEach((v, i) => {
      const x = i / (values.length - 1) * size;
      if (i === 0) context.moveTo(x, toY(v)); else context.lineTo(x, toY(v));
    });
    context.stroke();
    $("output-legend").textContent = "the network's curve (red) through the training points " +
      "(blue) and the test points (ringed)";
    return;
  }
  paintOutput(picture, frame.output);
  const [x0, x1, y0, y1] = run.box;
  const toX = (x) => (x - x0) / (x1 - x0) * size;
  const toY = (y) => (y1 - y) / (y1 - y0) * size;
  const drawPoints = (set, test) => {
    set.X.forEach(([x, y], i) => {
      const colour = PALETTE[set.y[i] % PALETTE.length];
      context.beginPath();
      context.arc(toX(x), toY(y), test ? 3.5 : 3, 0, 2 * Math.PI);
      context.fillStyle = `rgb(${colour.join(",")})`;
      context.fill();
      context.lineWidth = test ? 1.5 : 1;
      context.strokeStyle = test ? "#111" : "white";
      context.stroke();
    });
  };
  drawPoints(run.train, false);
  if (showTest) drawPoints(run.test, true);
  const [px, py] = run.train.X[state.point] || [0, 0];
  context.beginPath();
  context.arc(toX(px), toY(py), 7, 0, 2 * Math.PI);
  context.strokeStyle = "#000";
  context.lineWidth = 1.5;
  context.setLineDash([2, 2]);
  context.stroke();
  context.setLineDash([]);
  $("output-legend").textContent = run.task === "multiclass"
    ? "each region coloured by the class the network picks, paler where it is less sure"
    : "orange: the network says class 0, blue: class 1, white: undecided. Points: training; " +
      "ringed: test. Dashed: the point the neuron's graph uses (click to choose).";
}

// -- the network ----------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const NEURON = 38;  // a neuron's square, in pixels

// Where each neuron sits, and how large it is drawn: smaller where a layer is tall.
function layout(sizes, width, height) {
  const columns = sizes.length;
  return sizes.map((count, column) => {
    const x = 30 + column * (width - 60 - NEURON) / Math.max(1, columns - 1) + NEURON / 2;
    const gap = Math.min(NEURON + 10, (height - 20) / Math.max(count, 1));
    const size = Math.max(8, Math.min(NEURON, gap - 4));
    const top = height / 2 - (count - 1) * gap / 2;
    return Array.from({length: count}, (_, row) => ({x, y: top + row * gap, size}));
  });
}

function buildNetwork(run) {
  const holder = $("network");
  holder.replaceChildren();
  const width = holder.clientWidth || 420;
  const tallest = Math.max(...run.sizes);
  const height = Math.max(160, Math.min(520, tallest * 48 + 20));
  holder.style.height = `${height}px`;
  const positions = layout(run.sizes, width, height);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const edges = [];
  for (let layer = 1; layer < run.sizes.length; layer++) {
    const row = [];
    positions[layer].forEach((to, j) => {
      const column = [];
      positions[layer - 1].forEach((from, i) => {
        const line = document.createElementNS(SVG, "line");
        line.setAttribute("x1", from.x);
        line.setAttribute("y1", from.y);
        line.setAttribute("x2", to.x);
        line.setAttribute("y2", to.y);
        line.setAttribute("class", "edge");
        const title = document.createElementNS(SVG, "title");
        line.appendChild(title);
        svg.appendChild(line);
        column.push(line);
      });
      row.push(column);
    });
    edges.push(row);
  }
  holder.appendChild(svg);
  const neurons = [];
  positions.forEach((column, layer) => {
    const canvases = column.map((position, index) => {
      const canvas = document.createElement("canvas");
      canvas.className = "neuron";
      canvas.style.left = `${position.x - position.size / 2}px`;
      canvas.style.top = `${position.y - position.size / 2}px`;
      canvas.style.width = `${position.size}px`;
      canvas.style.height = `${position.size}px`;
      canvas.width = 20;
      canvas.height = 20;
      if (layer === 0) {
        canvas.classList.add("input");
        canvas.title = run.sizes[0] === 1 ? "x" : `x${index + 1}`;
        drawInput(canvas, index, run);
      } else {
        const name = layer === run.sizes.length - 1 ? "output" : `hidden layer ${layer}`;
        canvas.title = `neuron ${index + 1} of the ${name}: click for its compute graph`;
        canvas.addEventListener("click", () => {
          state.neuron = {layer: layer - 1, index};
          for (const other of holder.querySelectorAll(".neuron")) other.classList.remove("selected");
          canvas.classList.add("selected");
          requestNeuron();
        });
        if (state.neuron && state.neuron.layer === layer - 1 && state.neuron.index === index) {
          canvas.classList.add("selected");
        }
      }
      holder.appendChild(canvas);
      return canvas;
    });
    neurons.push(canvases);
  });
  state.drawing = {edges, neurons};
}

function drawInput(canvas, index, run) {
  if (run.sizes[0] === 1) {
    const context = canvas.getContext("2d");
    context.fillStyle = "white";
    context.fillRect(0, 0, canvas.width, canvas.height);
    drawCurveInto(canvas, [0, 1], [0, 1], "#555");
    return;
  }
  const [x0, x1, y0, y1] = run.box;
  const n = 20;
  const bytes = new Uint8Array(n * n);
  const low = index === 0 ? x0 : y0;
  const high = index === 0 ? x1 : y1;
  const scale = Math.max(Math.abs(low), Math.abs(high));
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = index === 0 ? x0 + (x1 - x0) * c / (n - 1) : y1 - (y1 - y0) * r / (n - 1);
      bytes[r * n + c] = Math.round((v / scale + 1) * 127.5);
    }
  }
  paint(canvas, bytes, (i) => diverging(bytes[i] / 127.5 - 1));
}

// A number to four figures; null is what the server sends for NaN or infinity.
const precise = (v) => (v === null ? "not a number" : v.toPrecision(4));

function drawNetwork() {
  const run = state.run;
  const frame = state.frame;
  if (!run || !frame || !state.drawing) return;
  const {edges, neurons} = state.drawing;
  const byGradient = $("show-gradients").checked && state.gradients;
  const source = byGradient ? state.gradients : frame.weights;
  let largest = 0;
  for (const layer of source) for (const row of layer.W) for (const v of row) {
    largest = Math.max(largest, Math.abs(v));
  }
  edges.forEach((layer, l) => {
    layer.forEach((column, j) => {
      column.forEach((line, i) => {
        const w = frame.weights[l].W[j][i];
        const shown = source[l].W[j][i];
        const relative = largest > 0 ? Math.abs(shown) / largest : 0;
        line.style.stroke = `rgb(${(shown < 0 ? NEGATIVE : POSITIVE).join(",")})`;
        line.setAttribute("stroke-width", (0.4 + 5 * relative).toFixed(2));
        line.setAttribute("stroke-opacity", (0.25 + 0.75 * relative).toFixed(2));
        let text = `weight ${i + 1} → ${j + 1}: w = ${precise(w)}`;
        if (state.gradients) text += `, ∂L/∂w = ${precise(state.gradients[l].W[j][i])}`;
        line.firstChild.textContent = text;
      });
    });
  });
  frame.neurons.forEach((layer, l) => {
    layer.forEach((neuron, j) => {
      const canvas = neurons[l + 1][j];
      if (neuron.pixels) {
        paintScores(canvas, neuron.pixels);
      } else {
        const context = canvas.getContext("2d");
        context.fillStyle = "white";
        context.fillRect(0, 0, canvas.width, canvas.height);
        const values = neuron.values;
        const low = Math.min(...values);
        const high = Math.max(...values);
        drawCurveInto(canvas, values, [low - 0.1, high + 0.1], "#0877bd");
      }
      canvas.title = canvas.title.split(" (")[0] +
        ` (bias ${precise(frame.weights[l].b[j])})`;
    });
  });
  const outputs = neurons[neurons.length - 1];
  if (run.task !== "regression" && outputs.length === 1) {
    paintOutput(outputs[0], frame.output);
  } else if (run.task === "regression") {
    const canvas = outputs[0];
    const context = canvas.getContext("2d");
    context.fillStyle = "white";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const values = frame.output.values;
    drawCurveInto(canvas, values, [Math.min(...values) - 0.1, Math.max(...values) + 0.1], "#d62728");
  } else {
    outputs.forEach((canvas, j) => paintScores(canvas, frame.outputs[j].pixels));
  }
}

// -- curves -----------------------------------------------------------------------------------

function drawCurve(canvas, keys, options) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 110;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const history = state.history;
  if (!history.length) return;
  let low = options.low ?? Infinity;
  let high = options.high ?? -Infinity;
  if (options.low === undefined || options.high === undefined) {
    const values = [];
    for (const record of history) for (const key of keys) {
      if (Number.isFinite(record[key])) values.push(record[key]);
    }
    values.sort((a, b) => a - b);
    if (values.length) {
      low = values[0];
      // The first epochs' loss can dwarf the rest: the top is the 98th percentile, so
      // that later progress stays visible (the first points run off the top).
      high = values[Math.min(values.length - 1, Math.floor(0.98 * values.length))];
    }
    if (options.low !== undefined) low = options.low;
  }
  if (!(high > low)) high = low + 1;
  const first = history[0].epoch;
  const last = Math.max(history[history.length - 1].epoch, first + 1);
  const toX = (epoch) => 4 + (epoch - first) / (last - first) * (width - 8);
  const toY = (v) => 4 + (1 - (v - low) / (high - low)) * (height - 8);
  context.strokeStyle = "#ddd";
  context.lineWidth = 1;
  context.strokeRect(0.5, 0.5, width - 1, height - 1);
  keys.forEach((key, k) => {
    context.strokeStyle = k === 0 ? "#333" : "#888";
    context.setLineDash(k === 0 ? [] : [4, 3]);
    context.lineWidth = 1.5;
    context.beginPath();
    history.forEach((record, i) => {
      const v = record[key];
      if (!Number.isFinite(v)) return;
      const y = Math.max(0, toY(v));
      if (i === 0) context.moveTo(toX(record.epoch), y);
      else context.lineTo(toX(record.epoch), y);
    });
    context.stroke();
  });
  context.setLineDash([]);
}

function drawCurves() {
  if (!state.run) return;
  const metric = state.run.metric;
  drawCurve($("loss-curve"), ["train_loss", "val_loss"], {low: 0});
  const metricKeys = [`train_${metric}`, `val_${metric}`];
  drawCurve($("metric-curve"), metricKeys, metric === "accuracy" ? {low: 0, high: 1} : {});
  const last = state.history[state.history.length - 1];
  $("metric-name").textContent = metric === "accuracy" ? "accuracy" : "R²";
  if (!last) {
    $("loss-numbers").textContent = "";
    $("metric-numbers").textContent = "";
    return;
  }
  const number = (v) => {
    if (!Number.isFinite(v)) return "–";
    return Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(2) : v.toFixed(3);
  };
  const share = (v) => (metric === "accuracy" ? `${(100 * v).toFixed(1)} %` : number(v));
  $("loss-numbers").textContent =
    `training ${number(last.train_loss)} · test ${number(last.val_loss)}`;
  $("metric-numbers").textContent =
    `training ${share(last[metricKeys[0]])} · test ${share(last[metricKeys[1]])}`;
  const fps = state.frames.length > 1
    ? (state.frames.length - 1) / ((state.frames[state.frames.length - 1] - state.frames[0]) / 1000)
    : 0;
  $("fps").textContent = state.playing ? fps.toFixed(1) : "0";
}

// -- code and gradients -----------------------------------------------------------------------

function showCode() {
  if (!state.run) return;
  $("code").textContent = state.run.code.replace("__EPOCHS__", String(Math.max(state.epoch, 1)));
}

function showGradients() {
  const text = $("gradients");
  if (!state.gradients || !$("show-gradients").checked) {
    text.textContent = "tick “show each weight's gradient” to compute them";
    return;
  }
  text.textContent = state.gradients.map((layer, l) => {
    const rows = layer.W.map((row, j) =>
      `  neuron ${j + 1}: ∂L/∂w = [${row.map(precise).join(", ")}], ∂L/∂b = ${precise(layer.b[j])}`);
    return `layer ${l + 1}\n${rows.join("\n")}`;
  }).join("\n");
}

window.addEventListener("resize", () => {
  if (state.run) { buildNetwork(state.run); drawNetwork(); drawOutput(); drawCurves(); }
});

connect();
