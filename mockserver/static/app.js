// The dashboard of the Marketap fake: polls the control plane, no build step, no network beyond it.
// What it shows lives in the URL's fragment (#tab=…&request=…&status=…), so a link reopens it.
"use strict";

const PATHS = ["/v1/api/profile/user", "/v1/api/events", "/v1/api/profile/user/deletion-job",
  "/v1/api/profile/user/deletion-job/bulk", "/v1/api/profile/user/device/bulk"];
const PAGE_ITEMS = 50; // array items shown before "show more": a 1,000-event body stays readable
const JOURNAL_KEPT = 500; // requests the page holds
const EVENTS_PAGE = 200; // events fetched at once, newest first; "show older" pages back
const STATE_PAGE = 200; // profiles or devices fetched at once, newest first; "show more" asks for more

const state = {
  tab: "requests", selected: null, entries: [], lastId: 0, resets: null, proxy: undefined,
  search: "", detail: null, // the open request: {entry, marks, hits, open, current}
  project: "", stateKey: "", stateAsked: null, stateLimit: STATE_PAGE, row: null, version: undefined, polling: false,
  view: "", // the tab (and project) on screen: showing it again keeps what is fetched and opened
  events: { project: null, items: [], last: 0, first: null, total: 0, loading: false },
};
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

// Bidi controls reorder the text around them ("\u202eevil" would read backwards): what a client
// sent is shown as sent, each control named by its code point rather than applied.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
function visible(text) {
  return text.replace(BIDI, (c) => `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, k === "title" ? visible(String(v)) : v);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : visible(String(child ?? "")));
  return node;
}

// --- the fragment: what is shown, as a link ---------------------------------------------

function readHash() { return new URLSearchParams(location.hash.slice(1)); }

function writeHash() {
  const params = new URLSearchParams();
  params.set("tab", state.tab);
  if (state.tab === "requests") {
    const form = $("#filters");
    for (const name of ["endpoint", "status", "project"]) if (form[name].value) params.set(name, form[name].value);
    if (state.selected !== null) params.set("request", state.selected);
    if (state.selected !== null && state.search) params.set("find", state.search);
  } else if (state.project) params.set("project", state.project);
  const hash = `#${params}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function applyHash() {
  const params = readHash();
  const tab = params.get("tab") || "requests";
  const form = $("#filters");
  if (tab === "requests") {
    for (const name of ["endpoint", "status", "project"]) setSelect(form[name], params.get(name) || "");
    renderJournal();
    state.search = params.get("find") || "";
    const id = params.get("request");
    showTab("requests", false);
    if (id !== null && /^\d+$/.test(id)) select(Number(id), false); else clearDetail();
  } else {
    state.project = params.get("project") || state.project;
    showTab(tab, false);
  }
}

function setSelect(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
  select.value = value;
}

// --- time: the browser's zone, UTC on hover ------------------------------------------------

const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const FULL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  hourCycle: "h23", timeZoneName: "short",
});

/** `iso` in the browser's zone; its title is the same instant in UTC (and the text as sent,
 * when that was not UTC). A string that is not a date stays as it is. */
function timeNode(iso, short = false) {
  const date = typeof iso === "string" && /^\d{4}-\d\d-\d\dT/.test(iso) ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return String(iso ?? "");
  const utc = date.toISOString();
  const sent = iso === utc || iso === utc.replace(".000Z", "Z") ? "" : ` (sent as ${iso})`;
  return el("time", { datetime: utc, title: `${utc.replace("T", " ").replace("Z", "")} UTC${sent}` },
    short ? CLOCK.format(date) : FULL.format(date));
}

// --- the journal ------------------------------------------------------------------------

function statusBadge(entry) {
  const text = entry.status === 0 ? "DROP" : String(entry.status);
  const badge = el("span", { class: `status s${Math.floor(entry.status / 100)}${entry.faulted ? " fault" : ""}`,
    title: entry.faulted ? "answered by a fault rule" : "the fake's answer" }, text);
  if (entry.upstream_status === undefined) return badge;
  const upstream = entry.upstream_status === null ? "–" : String(entry.upstream_status);
  return el("span", { class: "verdicts" }, badge, " ", el("span", {
    class: `status s${Math.floor((entry.upstream_status ?? 0) / 100)}`,
    title: entry.upstream_error ? `upstream: ${entry.upstream_error}` : "the upstream's answer" }, `↑${upstream}`));
}

function firstProblem(entry) {
  const error = entry.errors[0];
  if (!error) return entry.warnings?.length ? `warning: ${entry.warnings[0]}` : "";
  const more = entry.error_count > 1 ? ` (+${entry.error_count - 1} more)` : "";
  return `${error.field}: ${error.reason}${more}`;
}

function matches(entry) {
  const form = $("#filters");
  const path = form.endpoint.value, status = form.status.value, project = form.project.value;
  if (path && entry.path !== path) return false;
  if (project && entry.project_id !== project) return false;
  if (status === "faulted") return entry.faulted;
  if (status === "disagree") return entry.agree === false; // proxy mode: opposite verdicts
  if (status && String(Math.floor(entry.status / 100)) !== status) return false;
  return true;
}

/** A table cell; its title holds the whole text (or a time's UTC), for when it is cut short. */
function cell(content, attrs = {}) {
  const node = el("td", attrs, content);
  if (!node.title) node.title = node.querySelector("time")?.title ?? node.textContent;
  return node;
}

function renderJournal() {
  const rows = state.entries.filter(matches).reverse(); // newest first
  const body = $("#journal tbody");
  body.replaceChildren(...rows.map((entry) => el("tr", {
    tabindex: "0", "data-id": entry.id, "aria-selected": String(entry.id === state.selected),
    onclick: () => select(entry.id), onkeydown: (e) => rowKeys(e, () => select(entry.id)),
  },
  cell(entry.id), cell(timeNode(entry.time, true)),
  cell(entry.method === "POST" ? entry.path : `${entry.method} ${entry.path}`),
  cell(entry.project_id ?? "–"), cell(statusBadge(entry)), cell(entry.items ?? ""),
  cell(firstProblem(entry), { class: entry.errors.length ? "problem" : entry.warnings?.length ? "warning" : undefined }))));
  const rejected = state.entries.filter((e) => e.status !== 202).length;
  $("#counts").textContent = `${rows.length} shown, ${state.entries.length} requests, ${rejected} not accepted`;
  const empty = state.entries.length === 0;
  $("#journal").hidden = empty;
  $("#empty").hidden = !empty;
  if (empty) renderEmpty();
}

function rowKeys(event, open) {
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); return; }
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  event.preventDefault();
  const next = event.key === "ArrowDown" ? event.currentTarget.nextElementSibling : event.currentTarget.previousElementSibling;
  if (next) { next.focus(); next.click(); }
}

let emptyShown = false;
async function renderEmpty() {
  if (emptyShown) return;
  emptyShown = true;
  const box = $("#empty");
  box.replaceChildren(el("p", {}, "No requests yet. Send a first one:"));
  try {
    const { curl, upstream } = await api("first-request");
    if (upstream) box.replaceChildren(el("p", {}, `No requests yet. This proxy sends each request on to ${upstream}: point your client's base URL here, or send one with your own key and project:`));
    const text = curl.join("\n");
    const copy = el("button", { type: "button", onclick: async () => {
      try { await navigator.clipboard.writeText(text); copy.textContent = "Copied"; } catch { copy.textContent = "Select and copy"; }
    } }, "Copy");
    box.append(el("pre", { id: "first-request" }, text), copy,
      el("p", { class: "hint" }, "It appears here as soon as it arrives; so does every request your code sends."));
  } catch (error) { emptyShown = false; report(error); }
}

function clearDetail(message = "Select a request to see its headers, body and errors.") {
  state.selected = null; state.detail = null;
  $("#detail").replaceChildren(el("p", { class: "hint" }, message));
}

async function select(id, write = true) {
  state.selected = id;
  if (write) { state.search = ""; writeHash(); }
  for (const row of document.querySelectorAll("#journal tbody tr")) row.setAttribute("aria-selected", String(Number(row.dataset.id) === id));
  let entry;
  try { ({ request: entry } = await api(`requests/${id}`)); } catch (error) {
    if (state.selected === id) $("#detail").replaceChildren(el("p", { class: "hint" }, `Request #${id}: ${error.message}.`));
    return;
  }
  if (state.selected !== id) return;
  state.detail = { entry, marks: new Set(entry.errors.map((e) => e.field)), hits: new Set(), current: -1 };
  const errors = el("ul", { class: "errors" }, entry.errors.map((e) => el("li", {},
    el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); focusField(e.field); } }, e.field), ": ", e.reason)));
  const search = el("input", { type: "search", placeholder: "find in body", "aria-label": "Find in body", value: state.search,
    oninput: () => { clearTimeout(search.timer); search.timer = setTimeout(() => findInBody(search.value), 120); },
    onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); nextHit(e.shiftKey ? -1 : 1); } } });
  // One flat list of nodes: a nested array would be drawn as its text ("[object HTMLPreElement]").
  const upstream = entry.upstream_status === undefined ? [] : [
    el("p", {}, `upstream: ${entry.upstream_status ?? "not sent on"}${entry.upstream_error ? ` (${entry.upstream_error})` : ""}`),
    ...(entry.upstream_body ? [el("h3", {}, "Upstream answer"), el("pre", { id: "upstream-body" }, entry.upstream_body)] : []),
  ];
  $("#detail").replaceChildren(...[
    el("h2", {}, `#${entry.id} ${entry.method} ${entry.path} `, statusBadge(entry)),
    el("p", {}, timeNode(entry.time), ` · project ${entry.project_id ?? "–"} · query ${JSON.stringify(entry.query)}`), ...upstream,
    entry.errors.length ? [el("h3", {}, "Errors"), errors] : "",
    entry.warnings.length ? [el("h3", {}, "Warnings"), el("ul", { class: "warnings" }, entry.warnings.map((w) => el("li", {}, w)))] : "",
    el("h3", {}, "Headers"),
    el("table", {}, el("tbody", {}, Object.entries(entry.headers).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))),
    el("h3", {}, "Body", entry.json !== null
      ? el("span", { class: "find" }, search, el("output", { id: "find-count", "aria-live": "polite" })) : ""),
    el("div", { id: "body-box" })].flat());
  if (state.search && entry.json !== null) findInBody(state.search, false); else renderBody();
}

// --- the body, as collapsible JSON that stays readable at 1,000 items ---------------------

function pathOf(parent, key) { return typeof key === "number" ? `${parent}[${key}]` : (parent ? `${parent}.${key}` : key); }

/** Every container path on the way to `path` ("events[7].x" → "", "events", "events[7]"). */
function ancestors(path, into) {
  into.add("");
  for (let i = 0; i < path.length; i++) if (path[i] === "[" || path[i] === ".") into.add(path.slice(0, i));
  return into;
}

function highlighted(text, query) {
  if (!query) return [text];
  const parts = [], lower = text.toLowerCase(), q = query.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(q); at !== -1; at = lower.indexOf(q, at + q.length)) {
    parts.push(text.slice(from, at), el("mark", {}, text.slice(at, at + q.length)));
    from = at + q.length;
  }
  parts.push(text.slice(from));
  return parts;
}

function renderValue(value, path, view, key) {
  const query = view.hits.has(path) ? view.query : "";
  const label = key === undefined ? [] : [el("span", { class: "key" }, ...highlighted(JSON.stringify(key), query)), ": "];
  const classes = [view.marks.has(path) ? "bad" : "", view.hits.has(path) ? "hit" : ""].filter(Boolean).join(" ");
  if (value === null || typeof value !== "object") {
    return el("div", { class: `leaf ${classes}`.trim(), "data-path": path }, ...label, ...highlighted(JSON.stringify(value), query));
  }
  const isArray = Array.isArray(value);
  const keys = isArray ? value.map((_, i) => i) : Object.keys(value);
  const node = el("details", { class: classes || undefined, "data-path": path },
    el("summary", {}, ...label, isArray ? `[${keys.length} items]` : `{${keys.length} keys}`));
  if (view.open.has(path) || keys.length <= 3) node.open = true;
  const page = keys.slice(0, PAGE_ITEMS);
  // past the first page, only what must be seen: an error, a search match, or the way to one
  const wanted = keys.slice(PAGE_ITEMS).filter((k) => { const p = pathOf(path, k); return view.open.has(p) || view.marks.has(p) || view.hits.has(p); });
  for (const k of [...page, ...wanted]) node.append(renderValue(value[k], pathOf(path, k), view, k));
  const hidden = keys.length - page.length - wanted.length;
  if (hidden > 0) {
    const shown = new Set([...page, ...wanted]);
    const more = el("button", { type: "button", class: "more", onclick: () => {
      more.remove();
      for (const k of keys) if (!shown.has(k)) node.append(renderValue(value[k], pathOf(path, k), view, k));
    } }, `show ${hidden} more`);
    node.append(more);
  }
  return node;
}

function renderBody() {
  const detail = state.detail;
  const box = $("#body-box");
  if (!detail || !box) return;
  const { entry } = detail;
  if (entry.json === null) { box.replaceChildren(el("pre", { id: "body" }, entry.body ?? "(no body)")); return; }
  const open = new Set();
  for (const path of [...detail.marks, ...detail.hits]) ancestors(path, open);
  const view = { marks: detail.marks, hits: detail.hits, open, query: state.search };
  box.replaceChildren(el("div", { class: "json", id: "body" }, renderValue(entry.json, "", view)));
}

/** Search the whole body (not only what is shown): keys and values, case-insensitive. */
function findInBody(text, write = true) {
  const detail = state.detail;
  if (!detail || detail.entry.json === null) return;
  state.search = text;
  const hits = new Set();
  const q = text.toLowerCase();
  const walk = (value, path, key) => {
    if (q && key !== undefined && JSON.stringify(key).toLowerCase().includes(q)) hits.add(path);
    if (value === null || typeof value !== "object") {
      if (q && JSON.stringify(value).toLowerCase().includes(q)) hits.add(path);
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, pathOf(path, i), i));
    else for (const [k, v] of Object.entries(value)) walk(v, pathOf(path, k), k);
  };
  walk(detail.entry.json, "");
  detail.hits = hits;
  detail.current = -1;
  renderBody();
  const count = $("#find-count");
  if (count) count.textContent = !text ? "" : hits.size === 1 ? "1 match" : `${hits.size} matches`;
  if (write) writeHash();
  if (hits.size) nextHit(1);
}

function nextHit(step) {
  const found = [...document.querySelectorAll("#body .hit")];
  if (!found.length || !state.detail) return;
  const detail = state.detail;
  for (const node of found) node.classList.remove("current");
  detail.current = (detail.current + step + found.length) % found.length;
  const node = found[detail.current];
  node.classList.add("current");
  $("#find-count").textContent = `${detail.current + 1} of ${found.length} ${found.length === 1 ? "match" : "matches"}`;
  for (let p = node.parentElement; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
  node.scrollIntoView({ block: "center" });
}

function focusField(field) {
  const nodes = [...document.querySelectorAll("#body [data-path]")];
  const node = nodes.find((n) => n.dataset.path === field) || nodes.filter((n) => field.startsWith(n.dataset.path)).pop();
  if (!node) return;
  for (let p = node; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
  node.scrollIntoView({ block: "center" });
}

// --- state tabs: tables -------------------------------------------------------------------

const TIME_FIELDS = new Set(["requested_at", "due_at", "completed_at", "timestamp"]);
const compact = (value) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

function removedText(removed) {
  if (!removed) return "";
  return Object.entries(removed).map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ");
}

/** Rows and columns for a tab's data: known columns first, the rest as they come. */
function tableOf(tab, data) {
  let rows, columns;
  if (tab === "profiles") {
    rows = Object.entries(data).map(([user, props]) => ({ user_id: user, ...props }));
    columns = ["user_id", ...commonKeys(Object.values(data), 6)];
  } else if (tab === "devices") {
    rows = Object.values(data);
    columns = ["device_id", "user_id", "platform", "token", "properties"];
  } else if (tab === "deletion-jobs") {
    rows = data;
    columns = ["id", "user_ids", "status", "requested_at", "completed_at", "removed"];
  } else if (tab === "events") {
    rows = data;
    columns = ["name", "user_id", "timestamp", "id", "properties", ...commonKeys(data, 3, ["name", "user_id", "timestamp", "id", "properties"])];
  } else {
    rows = data;
    columns = ["id", "path", "project_id", "status", "times", "fired", "latency_ms", "retry_after", "drop", "probability"];
  }
  // an optional event field no event has says nothing; the first stays, so a row is never blank
  if (tab === "events") columns = columns.filter((c, i) => i === 0 || rows.some((r) => r[c] !== undefined && r[c] !== null));
  return { rows, columns };
}

function commonKeys(objects, max, skip = []) {
  const counts = new Map();
  for (const o of objects.slice(-500)) for (const k of Object.keys(o || {})) if (!skip.includes(k)) counts.set(k, (counts.get(k) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, max).map(([k]) => k);
}

function stateCell(column, value) {
  if (column === "removed") return cell(removedText(value));
  if (column === "user_ids" && Array.isArray(value)) return cell(value.join(", "));
  if (TIME_FIELDS.has(column) && typeof value === "string") return cell(timeNode(value));
  if (column === "status" && typeof value === "string") return cell(el("span", { class: `job ${value}` }, value));
  return cell(compact(value));
}

function renderTable(tab, data, newestFirst) {
  const { rows, columns } = tableOf(tab, data);
  const ordered = newestFirst ? [...rows].reverse() : rows;
  const table = el("table", { class: "grid", id: "state-table" },
    el("caption", { class: "visually-hidden" }, tab.replace("-", " ")),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { title: c }, c.replace("_", " "))))),
    el("tbody", {}, ordered.map((row, i) => el("tr", {
      tabindex: "0", "aria-selected": String(state.row === rowKey(tab, row, i)),
      onclick: (e) => showRow(tab, row, rowKey(tab, row, i), e.currentTarget),
      onkeydown: (e) => rowKeys(e, () => showRow(tab, row, rowKey(tab, row, i), e.currentTarget)),
    }, columns.map((c) => stateCell(c, row[c]))))));
  return { table, count: rows.length };
}

function rowKey(tab, row, i) {
  return tab === "profiles" ? row.user_id : tab === "devices" ? row.device_id : tab === "events" ? JSON.stringify(row) : String(row.id ?? i);
}

function showRow(tab, row, key, tr) {
  state.row = key;
  for (const other of document.querySelectorAll("#state-table tbody tr")) other.setAttribute("aria-selected", String(other === tr));
  const view = { marks: new Set(), hits: new Set(), open: new Set([""]), query: "" };
  $("#state-detail").replaceChildren(el("h2", {}, tab === "events" ? `event ${row.name ?? ""}` : `${tab.replace("-", " ")}: ${key}`),
    el("div", { class: "json" }, renderValue(row, "", view)));
}

async function renderState(version) {
  const tab = state.tab;
  const project = state.project;
  if (!project) return;
  if (tab === "events") return renderEvents(project);
  // Profiles and devices can be many: a page of the newest, fetched once per version of what is
  // stored. The version never goes back, so a poll that read an older one, or a second caller
  // while a fetch for this one is on its way (a tab click during a poll), has nothing to fetch.
  const cached = tab === "profiles" || tab === "devices";
  const limit = state.stateLimit;
  const view = `${tab} ${project} ${limit}`;
  if (cached) {
    if (version === undefined) return; // before the first poll: that poll brings it
    if (state.stateAsked?.view === view && state.stateAsked.version >= version) return;
    state.stateAsked = { view, version };
  }
  let answer;
  try {
    answer = await api(tab === "faults" ? "faults" : `${tab}?project_id=${encodeURIComponent(project)}${cached ? `&limit=${limit}` : ""}`);
  } catch (error) {
    if (cached && state.stateAsked?.view === view && state.stateAsked.version === version) state.stateAsked = null; // ask again
    throw error;
  }
  if (tab !== state.tab || project !== state.project || limit !== state.stateLimit) return;
  const data = answer[tab.replace("-", "_")];
  const key = JSON.stringify(answer);
  if (state.stateKey === key) return; // unchanged: keep what the reader opened
  state.stateKey = key;
  const { table, count } = renderTable(tab, data, tab !== "faults");
  const total = answer.total ?? count;
  const noun = NOUNS[tab][total === 1 ? 0 : 1];
  $("#state-count").textContent = total > count ? `${total} ${noun} stored, ${count} shown (newest first)` : `${total} ${noun}`;
  const more = total > count
    ? el("button", { type: "button", class: "pager", id: "more", onclick: () => { state.stateLimit += STATE_PAGE; renderState(state.version).catch(report); } },
      `show ${Math.min(STATE_PAGE, total - count)} more`) : "";
  const none = tab === "faults" ? "No fault rules." : `No ${tab.replace("-", " ")} in ${project} yet.`;
  $("#state").replaceChildren(count ? table : el("p", { class: "hint" }, none), more);
}

const NOUNS = { profiles: ["profile", "profiles"], devices: ["device", "devices"],
  "deletion-jobs": ["deletion job", "deletion jobs"], faults: ["fault rule", "fault rules"] };

// Events: the newest page, then only what came after the last one seen; older pages on demand.
async function renderEvents(project) {
  const ev = state.events;
  if (ev.loading) return;
  ev.loading = true;
  try {
    const fresh = ev.project !== project;
    const query = fresh ? `limit=${EVENTS_PAGE}` : `after=${ev.last}&limit=${EVENTS_PAGE}`;
    const page = await api(`events?project_id=${encodeURIComponent(project)}&${query}`);
    if (state.tab !== "events" || project !== state.project) return;
    if (!fresh && page.total !== ev.total + page.events.length) { // events went, or a burst outran a page
      Object.assign(ev, { project: null });
      ev.loading = false;
      return renderEvents(project);
    }
    if (fresh) Object.assign(ev, { project, items: page.events, first: page.first, last: page.last ?? 0, total: page.total });
    else if (page.events.length) Object.assign(ev, { items: [...ev.items, ...page.events], last: page.last, total: page.total });
    else return; // nothing new: nothing to draw, and what the reader opened stays open
    drawEvents();
  } finally { ev.loading = false; }
}

function drawEvents() {
  const ev = state.events;
  const { table, count } = renderTable("events", ev.items, true);
  $("#state-count").textContent = `${ev.total} ${ev.total === 1 ? "event" : "events"} stored, ${count} shown (newest first)`;
  const older = ev.items.length < ev.total && ev.first !== null
    ? el("button", { type: "button", class: "pager", id: "older", onclick: olderEvents }, `show ${Math.min(EVENTS_PAGE, ev.total - ev.items.length)} older`) : "";
  $("#state").replaceChildren(count ? table : el("p", { class: "hint" }, `No events in ${ev.project} yet.`), older);
}

async function olderEvents() {
  const ev = state.events;
  const page = await api(`events?project_id=${encodeURIComponent(ev.project)}&before=${ev.first}&limit=${EVENTS_PAGE}`);
  if (!page.events.length) return;
  Object.assign(ev, { items: [...page.events, ...ev.items], first: page.first });
  drawEvents();
}

function showTab(tab, write = true) {
  if (!["requests", "profiles", "events", "devices", "deletion-jobs", "faults"].includes(tab)) tab = "requests";
  if (tab !== "requests" && !state.project) state.project = $("#filters").project.value || $("#state-tools").project.value;
  const view = tab === "requests" ? tab : `${tab} ${state.project}`;
  if (view === state.view) { // a second click, or the link applied after the first poll
    if (write) writeHash();
    return;
  }
  state.view = view;
  state.tab = tab;
  state.stateKey = ""; state.stateAsked = null; state.stateLimit = STATE_PAGE; state.row = null; state.events.project = null;
  for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  $("#requests-view").hidden = tab !== "requests";
  $("#state-view").hidden = tab === "requests";
  $("#state-tools").project.closest("label").hidden = tab === "faults";
  if (tab !== "requests") {
    setSelect($("#state-tools").project, state.project);
    $("#state").replaceChildren();
    $("#state-count").textContent = "";
    $("#state-detail").replaceChildren(el("p", { class: "hint" }, "Select a row to see all of it."));
    renderState(state.version).catch(report);
  }
  if (write) writeHash();
}

function fillSelect(select, values, keepFirst = true) {
  const current = select.value;
  const first = keepFirst ? [select.options[0]] : [];
  const known = new Set(values);
  const extra = current && !known.has(current) ? [current] : []; // a linked project not seen yet
  select.replaceChildren(...first, ...[...values, ...extra].map((v) => el("option", { value: v }, v)));
  select.value = current;
}

function report(error) { $("#health").textContent = `error: ${error.message}`; }

async function pollJournal(health) {
  if (health.resets !== state.resets) { // a reset: what the page holds is gone
    state.resets = health.resets; state.entries = []; state.lastId = 0;
  }
  const { requests } = await api(`requests?summary=1&after=${state.lastId}&limit=${JOURNAL_KEPT}`);
  if (requests.length || !state.entries.length) {
    state.entries = [...state.entries, ...requests].slice(-JOURNAL_KEPT);
    state.lastId = state.entries.length ? state.entries[state.entries.length - 1].id : 0;
    if (state.entries.length) emptyShown = false;
    renderJournal();
  }
}

// Proxy mode: the running parity account beside the health line; learnt once, then polled.
async function pollParity() {
  const parity = await api("parity");
  state.proxy = parity.proxy;
  if (!parity.proxy) return;
  const status = $("#filters").status;
  if (![...status.options].some((o) => o.value === "disagree")) status.append(el("option", { value: "disagree" }, "disagreeing with upstream"));
  const mode = parity.proxy.enforce ? " (enforce)" : "";
  document.body.classList.add("proxy"); // the status column holds two badges
  $("#parity").hidden = false;
  $("#parity").textContent = `proxy to ${parity.proxy.upstream}${mode}: ${parity.requests} compared, ${parity.agree} agree, ${parity.requests - parity.agree} disagree, ${parity.not_compared} not compared`;
}

async function poll() {
  if (state.polling) return; // a slow answer must not stack polls up behind it
  state.polling = true;
  try {
    const [health, settings] = await Promise.all([api("health"), api("settings")]);
    const projects = [...new Set([...Object.values(settings.settings.api_keys).flat(), ...health.projects])];
    if (!state.project) state.project = projects[0];
    fillSelect($("#state-tools").project, projects, false);
    fillSelect($("#filters").project, projects);
    state.version = health.version; // before any await: a tab clicked meanwhile fetches this version
    $("#health").textContent = `${health.journal.entries} requests · ${health.events} events stored · dropped: journal ${health.dropped.journal}, events ${health.dropped.events}`;
    if (state.proxy !== null) await pollParity();
    await pollJournal(health);
    if (state.tab !== "requests") await renderState(health.version);
  } catch (error) { report(error); } finally { state.polling = false; }
}

function setup() {
  fillSelect($("#filters").endpoint, PATHS);
  fillSelect($("#fault-form").path, PATHS);
  $("#filters").addEventListener("change", () => { renderJournal(); writeHash(); });
  $("#filters").addEventListener("submit", (e) => e.preventDefault());
  $("#state-tools").addEventListener("submit", (e) => e.preventDefault());
  $("#state-tools").project.addEventListener("change", (e) => { state.project = e.target.value; showTab(state.tab); });
  for (const b of document.querySelectorAll("[role=tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  window.addEventListener("hashchange", applyHash);
  $("#reset").addEventListener("click", async () => {
    await api("reset", { method: "POST", body: "{}" });
    clearDetail("Reset: everything was cleared.");
    writeHash();
    await poll();
  });
  $("#download").addEventListener("click", async (e) => {
    // A link cannot send the control token: with one, the file is fetched and handed over.
    if (!token()) return;
    e.preventDefault();
    const response = await fetch("/_mock/recording", { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) { $("#token-form").hidden = false; return; }
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "marketap-recording.jsonl" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  $("#complete").addEventListener("click", async () => {
    const { completed } = await api("deletion-jobs/complete", { method: "POST", body: "{}" });
    $("#health").textContent = `completed ${completed.length} deletion job(s)`;
    if (state.tab !== "requests") await renderState();
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
  poll().then(applyHash);
  setInterval(poll, 1000);
}

document.addEventListener("DOMContentLoaded", setup);
