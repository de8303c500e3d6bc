// The dashboard of the Marketap fake: polls the control plane, no build step, no network beyond it.
"use strict";

const PATHS = ["/v1/api/profile/user", "/v1/api/events", "/v1/api/profile/user/deletion-job",
  "/v1/api/profile/user/deletion-job/bulk", "/v1/api/profile/user/device/bulk"];
const PAGE_ITEMS = 50; // array items shown before "show more": a 1,000-event body stays readable
const state = { entries: [], selected: null, tab: "requests", lastKey: "" };
const $ = (selector) => document.querySelector(selector);

function token() { return sessionStorage.getItem("marketap-control-token"); }

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(`/_mock/${path}`, { ...options, headers });
  if (response.status === 401) { $("#token-form").hidden = false; throw new Error("control token needed"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.errors?.[0]?.reason || body.message);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function statusBadge(entry) {
  const text = entry.status === 0 ? "DROP" : String(entry.status);
  return el("span", { class: `status s${Math.floor(entry.status / 100)}${entry.faulted ? " fault" : ""}` }, text);
}

function firstProblem(entry) {
  const error = entry.errors[0];
  if (!error) return entry.warnings?.length ? `warning: ${entry.warnings[0]}` : "";
  const more = entry.error_count > 1 ? ` (+${entry.error_count - 1} more)` : "";
  return `${error.field}: ${error.reason}${more}`;
}

function matches(entry) {
  const form = $("#filters");
  const path = form.path.value, status = form.status.value, project = form.project.value;
  if (path && entry.path !== path) return false;
  if (project && entry.project_id !== project) return false;
  if (status === "faulted") return entry.faulted;
  if (status && String(Math.floor(entry.status / 100)) !== status) return false;
  return true;
}

function renderJournal() {
  const rows = state.entries.filter(matches).reverse(); // newest first
  const body = $("#journal tbody");
  body.replaceChildren(...rows.map((entry) => {
    const row = el("tr", { tabindex: "0", "data-id": entry.id, "aria-selected": String(entry.id === state.selected),
      onclick: () => select(entry.id), onkeydown: (e) => { if (e.key === "Enter") select(entry.id); } },
      el("td", {}, entry.id), el("td", {}, entry.time.slice(11, 19)), el("td", {}, entry.method),
      el("td", {}, entry.path), el("td", {}, entry.project_id ?? "–"), el("td", {}, statusBadge(entry)),
      el("td", {}, entry.items ?? ""), el("td", { class: entry.errors.length ? "problem" : "" }, firstProblem(entry)));
    return row;
  }));
  const rejected = state.entries.filter((e) => e.status !== 202).length;
  $("#counts").textContent = `${rows.length} shown, ${state.entries.length} requests, ${rejected} not accepted`;
}

// --- the body, as collapsible JSON that stays readable at 1,000 items ---------------------

function pathOf(parent, key) { return typeof key === "number" ? `${parent}[${key}]` : (parent ? `${parent}.${key}` : key); }

function renderValue(value, path, marks, key) {
  const label = key === undefined ? [] : [el("span", { class: "key" }, JSON.stringify(key)), ": "];
  const bad = marks.has(path) ? " bad" : "";
  if (value === null || typeof value !== "object") {
    return el("div", { class: `leaf${bad}`, "data-path": path }, ...label, JSON.stringify(value));
  }
  const isArray = Array.isArray(value);
  const keys = isArray ? value.map((_, i) => i) : Object.keys(value);
  const wanted = [...marks].some((m) => m === path || m.startsWith(path + (isArray ? "[" : ".")) || path === "");
  const node = el("details", { class: bad.trim(), "data-path": path },
    el("summary", {}, ...label, isArray ? `[${keys.length} items]` : `{${keys.length} keys}`));
  if (wanted || keys.length <= 3) node.open = true;
  let shown = 0;
  const showRange = (from, to) => {
    for (const k of keys.slice(from, to)) node.append(renderValue(value[k], pathOf(path, k), marks, k));
    shown = to;
  };
  const marked = isArray ? keys.filter((i) => [...marks].some((m) => m.startsWith(`${path}[${i}]`))) : [];
  showRange(0, Math.min(keys.length, PAGE_ITEMS));
  for (const i of marked) if (i >= PAGE_ITEMS) node.append(renderValue(value[i], pathOf(path, i), marks, i));
  if (keys.length > shown) {
    const more = el("button", { type: "button", class: "more", onclick: () => {
      more.remove(); showRange(shown, keys.length);
    } }, `show ${keys.length - shown} more`);
    node.append(more);
  }
  return node;
}

async function select(id) {
  state.selected = id;
  renderJournal();
  const { request: entry } = await api(`requests/${id}`);
  const marks = new Set(entry.errors.map((e) => e.field));
  const errors = el("ul", { class: "errors" }, entry.errors.map((e) => el("li", {},
    el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); focusField(e.field); } }, e.field), ": ", e.reason)));
  const search = el("input", { type: "search", placeholder: "find in body", "aria-label": "Find in body",
    oninput: () => findInBody(search.value) });
  const body = entry.json !== null ? el("div", { class: "json", id: "body" }, renderValue(entry.json, "", marks))
    : el("pre", { id: "body" }, entry.body ?? "(no body)");
  $("#detail").replaceChildren(
    el("h2", {}, `#${entry.id} ${entry.method} ${entry.path} `, statusBadge(entry)),
    el("p", {}, `${entry.time} · project ${entry.project_id ?? "–"} · query ${JSON.stringify(entry.query)}`),
    entry.errors.length ? el("h3", {}, "Errors") : "", entry.errors.length ? errors : "",
    entry.warnings.length ? el("h3", {}, "Warnings") : "", entry.warnings.length ? el("ul", {}, entry.warnings.map((w) => el("li", {}, w))) : "",
    el("h3", {}, "Headers"),
    el("table", {}, el("tbody", {}, Object.entries(entry.headers).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))),
    el("h3", {}, "Body ", search), body);
}

function focusField(field) {
  const node = [...document.querySelectorAll("#body [data-path]")].find((n) => n.dataset.path === field)
    || [...document.querySelectorAll("#body [data-path]")].filter((n) => field.startsWith(n.dataset.path)).pop();
  if (!node) return;
  for (let p = node; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
  node.scrollIntoView({ block: "center" });
}

function findInBody(text) {
  for (const leaf of document.querySelectorAll("#body .leaf")) {
    const hit = text && leaf.textContent.toLowerCase().includes(text.toLowerCase());
    leaf.style.background = hit ? "#fff3b0" : "";
    if (hit) for (let p = leaf.parentElement; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
  }
}

// --- state tabs ---------------------------------------------------------------------------

async function renderState() {
  const project = encodeURIComponent($("#project").value);
  const view = $("#state");
  const tab = state.tab;
  let data;
  if (tab === "faults") data = (await api("faults")).faults;
  else data = (await api(`${tab}?project_id=${project}`))[tab.replace("-", "_")];
  if (tab !== state.tab) return;
  const count = Array.isArray(data) ? data.length : Object.keys(data).length;
  const key = JSON.stringify(data);
  if (view.dataset.key === key) return; // unchanged: keep what the reader opened
  view.dataset.key = key;
  view.replaceChildren(el("p", {}, `${count} ${tab.replace("-", " ")}`), el("div", { class: "json" }, renderValue(data, "", new Set())));
}

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  $("#requests-view").hidden = tab !== "requests";
  $("#state-view").hidden = tab === "requests";
  $("#state").dataset.key = "";
  if (tab !== "requests") renderState().catch(report);
}

function fillSelect(select, values, keepFirst = true) {
  const current = select.value;
  const first = keepFirst ? [select.options[0]] : [];
  select.replaceChildren(...first, ...values.map((v) => el("option", { value: v }, v)));
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function report(error) { $("#health").textContent = `error: ${error.message}`; }

async function poll() {
  try {
    const [health, journal] = await Promise.all([api("health"), api("requests?summary=1&limit=500")]);
    const settings = await api("settings");
    const projects = [...new Set([...Object.values(settings.settings.api_keys).flat(), ...health.projects])];
    fillSelect($("#project"), projects, false);
    fillSelect($("#filters").project, projects);
    $("#health").textContent = `${health.journal.entries} requests · ${health.events} events stored · dropped: journal ${health.dropped.journal}, events ${health.dropped.events}`;
    const key = journal.requests.map((e) => e.id).join(",");
    if (key !== state.lastKey) { state.entries = journal.requests; state.lastKey = key; renderJournal(); }
    if (state.tab !== "requests") await renderState();
  } catch (error) { report(error); }
}

function setup() {
  fillSelect($("#filters").path, PATHS);
  fillSelect($("#fault-form").path, PATHS);
  $("#filters").addEventListener("change", renderJournal);
  $("#project").addEventListener("change", () => showTab(state.tab));
  for (const b of document.querySelectorAll("[role=tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#reset").addEventListener("click", async () => {
    await api("reset", { method: "POST", body: "{}" });
    state.selected = null; $("#detail").replaceChildren(el("p", { class: "hint" }, "Reset: everything was cleared."));
    await poll();
  });
  $("#complete").addEventListener("click", async () => {
    const { completed } = await api("deletion-jobs/complete", { method: "POST", body: "{}" });
    $("#health").textContent = `completed ${completed.length} deletion job(s)`;
  });
  $("#fault-toggle").addEventListener("click", (e) => {
    const form = $("#fault-form"); form.hidden = !form.hidden; e.target.setAttribute("aria-expanded", String(!form.hidden));
  });
  $("#fault-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target, rule = {};
    if (form.path.value) rule.path = form.path.value;
    if (form.drop.checked) rule.drop = true; else if (form.status.value) rule.status = Number(form.status.value);
    for (const name of ["times", "retry_after", "latency_ms"]) if (form[name].value) rule[name] = Number(form[name].value);
    try { const { fault } = await api("faults", { method: "POST", body: JSON.stringify(rule) }); $("#fault-message").textContent = `added rule #${fault.id}`; }
    catch (error) { $("#fault-message").textContent = error.message; }
  });
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault(); sessionStorage.setItem("marketap-control-token", e.target.token.value); e.target.hidden = true; poll();
  });
  poll();
  setInterval(poll, 1000);
}

document.addEventListener("DOMContentLoaded", setup);
