// The Atlas playground: plain JavaScript, no build step, no CDN. Every answer names the model and version.
"use strict";

function show(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || data.error || response.status);
  return data;
}

async function postFile(url, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch(url, { method: "POST", body: form, headers: { Accept: "application/json" } });
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || data.error || response.status);
  return data;
}

// --- Digits ------------------------------------------------------------------------------------------
const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
let drawing = false;
function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
}
clearPad();
ctx.lineCap = "round";
ctx.lineJoin = "round";
ctx.lineWidth = 22;
ctx.strokeStyle = "#fff";
function point(event) {
  const rect = pad.getBoundingClientRect();
  return [((event.clientX - rect.left) * pad.width) / rect.width, ((event.clientY - rect.top) * pad.height) / rect.height];
}
pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  const [x, y] = point(event);
  ctx.beginPath();
  ctx.moveTo(x, y);
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  ctx.lineTo(x, y);
  ctx.stroke();
});
window.addEventListener("pointerup", () => {
  if (drawing) {
    drawing = false;
    predictDigit();
  }
});
document.getElementById("clear").addEventListener("click", () => {
  clearPad();
  show(document.getElementById("digit-result"), "");
  document.getElementById("bars").replaceChildren();
  document.getElementById("layers").replaceChildren();
});
document.getElementById("predict").addEventListener("click", () => predictDigit());

function pixels() {
  // 280x280 drawing -> 28x28 greys in 0..1, row by row (the MNIST layout).
  const small = document.createElement("canvas");
  small.width = 28;
  small.height = 28;
  const sctx = small.getContext("2d");
  sctx.drawImage(pad, 0, 0, 28, 28);
  const data = sctx.getImageData(0, 0, 28, 28).data;
  const out = [];
  for (let i = 0; i < data.length; i += 4) out.push(data[i] / 255);
  return out;
}

function heat(values, columns) {
  const rows = Math.ceil(values.length / columns);
  const canvas = document.createElement("canvas");
  canvas.width = columns;
  canvas.height = rows;
  const c = canvas.getContext("2d");
  const image = c.createImageData(columns, rows);
  const max = Math.max(...values.map(Math.abs)) || 1;
  values.forEach((value, i) => {
    const t = Math.abs(value) / max;
    image.data[i * 4] = Math.round(255 * t);
    image.data[i * 4 + 1] = Math.round(120 * t);
    image.data[i * 4 + 2] = Math.round(255 * (1 - t));
    image.data[i * 4 + 3] = 255;
  });
  c.putImageData(image, 0, 0);
  const scale = Math.max(1, Math.floor(140 / Math.max(columns, rows)));
  canvas.style.width = `${columns * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  return canvas;
}

async function predictDigit() {
  const result = document.getElementById("digit-result");
  const body = { pixels: pixels() };
  try {
    const [prediction, activations] = await Promise.all([postJSON("/predict", body), postJSON("/activations", body)]);
    show(
      result,
      `${prediction.predicted_digit} (${(prediction.confidence * 100).toFixed(1)}%) — ${prediction.model} ${prediction.version}`,
    );
    const bars = document.getElementById("bars");
    bars.replaceChildren();
    prediction.probabilities.forEach((p, digit) => {
      const label = document.createElement("span");
      label.textContent = digit;
      const track = document.createElement("div");
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${(p * 100).toFixed(1)}%`;
      track.append(bar);
      const value = document.createElement("span");
      value.textContent = `${(p * 100).toFixed(1)}%`;
      bars.append(label, track, value);
    });
    const layers = document.getElementById("layers");
    layers.replaceChildren();
    activations.activations.forEach((values, index) => {
      const figure = document.createElement("figure");
      const columns = values.length === 784 ? 28 : Math.ceil(Math.sqrt(values.length));
      const caption = document.createElement("figcaption");
      caption.textContent = index === 0 ? "input" : `layer ${index} (${values.length})`;
      figure.append(heat(values, columns), caption);
      layers.append(figure);
    });
  } catch (error) {
    show(result, `No prediction: ${error.message}`, true);
  }
}

// --- Drop zones --------------------------------------------------------------------------------------
function dropZone(zoneId, inputId, handle) {
  const zone = document.getElementById(zoneId);
  const input = document.getElementById(inputId);
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) handle(event.dataTransfer.files[0]);
  });
  input.addEventListener("change", () => {
    if (input.files.length) handle(input.files[0]);
  });
}

dropZone("image-drop", "image-file", async (file) => {
  const result = document.getElementById("image-result");
  show(result, "Detecting…");
  try {
    const [answer, bitmap] = await Promise.all([postFile("/api/v1/detect", file), createImageBitmap(file)]);
    const canvas = document.getElementById("image-canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const c = canvas.getContext("2d");
    c.drawImage(bitmap, 0, 0);
    c.lineWidth = Math.max(2, bitmap.width / 200);
    c.font = `${Math.max(12, bitmap.width / 40)}px sans-serif`;
    for (const d of answer.detections) {
      const [x1, y1, x2, y2] = d.bbox;
      c.strokeStyle = "#ff3b30";
      c.strokeRect(x1, y1, x2 - x1, y2 - y1);
      c.fillStyle = "#ff3b30";
      c.fillText(`${d.class} ${(d.confidence * 100).toFixed(0)}%`, x1 + 2, Math.max(12, y1 - 4));
    }
    canvas.dataset.boxes = String(answer.detections.length);
    show(result, `${answer.detections.length} box(es) — ${answer.model} ${answer.version}`);
  } catch (error) {
    show(result, `No detection: ${error.message}`, true);
  }
});

dropZone("audio-drop", "audio-file", async (file) => {
  const result = document.getElementById("audio-result");
  show(result, "Classifying…");
  try {
    const answer = await postFile("/api/v1/audio/classify", file);
    show(
      result,
      `${answer.class_name} (${(answer.confidence * 100).toFixed(1)}%), threat category ${answer.threat_category}, ` +
        `severity ${answer.severity} — ${answer.model} ${answer.version}`,
    );
  } catch (error) {
    show(result, `No classification: ${error.message}`, true);
  }
});
