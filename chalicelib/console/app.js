// The schedule console: one page, hash routes, the API under the same base path.
//   #/                overview: counts by health and status, what needs attention, the next fires
//   #/list            the schedules (filters, search, paging): one request a page
//   #/new             create
//   #/s/<id>          one schedule: definition, day strip, timeline, executions, history, actions
//   #/s/<id>/edit     edit (sends If-Match)
//   #/templates       the caller's templates; #/templates/new, #/templates/<name>/edit (JSON)
//   #/calendars       the caller's exclusion calendars; #/calendars/new, #/calendars/<name>/edit
//   #/from/<name>     a schedule from a template: its parameters, a preview, create

// Served at <base>/ and <base>/console/...: <base> is "" locally and "/<stage>" behind API Gateway.
const BASE = location.pathname.replace(/\/(console\/[^/]*|index\.html)?$/, "");
const PAGE_SIZE = 20;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const SCHEDULE_REFRESH_MS = 10_000;
const OVERVIEW_REFRESH_MS = 30_000;
const TOAST_MS = 3000;
// Symbols the fonts of the OS packages draw (DejaVu, Liberation): each also has its word.
const SYMBOLS = {
  // slot results
  succeeded: "✔", failed: "✖", running: "▶", late: "◷", missed: "⚠", skipped: "‖", upcoming: "○",
  timed_out: "⊗", overdue: "◶",
  // run outcomes
  undelivered: "✖", started: "▶",
  // statuses
  pending: "◔", active: "●", paused: "‖", error: "✖", completed: "■", deleted: "×",
};
const BACKFILLED = "↺"; // a slot whose run was a backfill (docs/backfill.md)
const HEALTH = { ok: "✔", late: "◷", missing: "⚠", failing: "✖", paused: "‖" };
const STATUSES = ["pending", "active", "paused", "error", "completed", "deleted"];
const TOKEN_KEY = "rez-agent-token";
const ACTING_AS_KEY = "rez-agent-acting-as";
const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

let authMode = "none";
let refreshTimer = null;

// --- small helpers -------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A word (a status, an outcome, a slot's result) with its symbol; its class "is-<word>" colours it.
function badge(word) {
  const name = word || "unknown";
  return el("span", { class: `badge is-${name}` }, `${SYMBOLS[name] || "•"} ${name}`);
}

function healthBadge(health) {
  if (!health) return el("span", { class: "muted" }, "—");
  return el("span", { class: `badge health-${health}` }, `${HEALTH[health] || "•"} ${health}`);
}

function hasSeconds(iso) {
  return /T\d\d:\d\d:(?!00)\d\d/.test(iso || "");
}

function formatTime(iso, timeZone, withSeconds = hasSeconds(iso)) {
  if (!iso) return "—";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  const options = {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  };
  // a slot off the minute (a rate() schedule keeps its creation second) shows its seconds
  if (withSeconds || moment.getUTCSeconds() !== 0) options.second = "2-digit";
  try {
    return new Intl.DateTimeFormat(undefined, timeZone ? { ...options, timeZone } : options).format(moment);
  } catch {
    return iso;
  }
}

function clockTime(date, withSeconds = true) {
  return new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", second: withSeconds ? "2-digit" : undefined,
  }).format(date);
}

// A time in the schedule's zone, and in the reader's only when that reads differently.
function whenBoth(iso, timeZone) {
  if (!iso) return "—";
  const theirs = formatTime(iso, timeZone);
  const yours = formatTime(iso);
  if (!timeZone || timeZone === LOCAL_ZONE || theirs === yours) return el("span", {}, yours);
  return el("span", {}, theirs, el("span", { class: "local" }, ` · your time ${yours}`));
}

function relative(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const size = Math.abs(seconds);
  const text = size < 60 ? `${size} s` : size < 3600 ? `${Math.round(size / 60)} min`
    : size < 86400 ? `${Math.round(size / 360) / 10} h` : `${Math.round(size / 8640) / 10} days`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function lateness(scheduled, started) {
  if (!scheduled || !started) return "—";
  const seconds = Math.round((new Date(started).getTime() - new Date(scheduled).getTime()) / 1000);
  if (seconds < 0) return `${-seconds} s early`;
  if (seconds < 60) return `+${seconds} s`;
  return `+${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

let toastShownAt = 0;

// A short notice; it goes away when the page it spoke about shows its new state.
function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("shown");
  toastShownAt = Date.now();
  setTimeout(() => { if (Date.now() - toastShownAt >= TOAST_MS) hideToast(); }, TOAST_MS);
}

function hideToast() {
  document.getElementById("toast").classList.remove("shown");
}

function setTitle(text) {
  document.title = `${text} · rez-agent schedules`;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- the API ---------------------------------------------------------------------------------

function actingAs() {
  return (localStorage.getItem(ACTING_AS_KEY) || "").trim();
}

async function api(method, path, body, headers = {}) {
  const request = { method, headers: { ...headers } };
  if (body !== undefined) {
    request.body = JSON.stringify(body);
    request.headers["Content-Type"] = "application/json";
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (authMode === "cognito" && token) request.headers.Authorization = token;
  if (authMode === "none" && actingAs()) request.headers["X-Created-By"] = actingAs();
  const response = await fetch(`${BASE}${path}`, request);
  let data = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { Message: text };
  }
  return { status: response.status, ok: response.ok, data, headers: response.headers };
}

function problem(result) {
  return (result.data && (result.data.Message || result.data.message)) || `HTTP ${result.status}`;
}

// The API's per-field errors ({"Errors": [{"field", "message"}]}), or none.
function fieldErrors(result) {
  const errors = result.data && result.data.Errors;
  return Array.isArray(errors) ? errors.filter((error) => error && error.field) : [];
}

// --- auth and who you are --------------------------------------------------------------------

async function loadAuth() {
  const box = document.getElementById("auth");
  try {
    const response = await fetch(`${BASE}/console/config.json`);
    const config = await response.json();
    authMode = config.auth_mode || "none";
    if (authMode === "cognito") {
      const input = el("input", {
        id: "token", type: "password", autocomplete: "off",
        value: sessionStorage.getItem(TOKEN_KEY) || "",
      });
      const save = el("button", {
        type: "button",
        onclick: () => {
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          toast("Token saved for this tab");
          route();
        },
      }, "Use token");
      box.append(el("label", { for: "token" }, "Cognito token"), input, save);
      if (config.login_url) box.append(el("a", { href: config.login_url }, "Sign in"));
    } else if (authMode === "none") {
      box.append(actingAsControl());
    }
  } catch {
    authMode = "none";
  }
}

// On the open local stage a person says who they are: sent as X-Created-By, remembered.
function actingAsControl() {
  const input = el("input", {
    id: "acting-as", value: actingAs(), placeholder: "anonymous", autocomplete: "username",
    maxlength: 128, size: 12, "aria-describedby": "acting-as-help",
  });
  const apply = () => {
    const name = input.value.trim();
    if (name === actingAs()) return;
    if (name) localStorage.setItem(ACTING_AS_KEY, name);
    else localStorage.removeItem(ACTING_AS_KEY);
    toast(`Acting as ${name || "anonymous"}`);
    route();
  };
  input.addEventListener("change", apply);
  return el("form", {
    class: "acting-as", onsubmit: (event) => { event.preventDefault(); apply(); },
  },
  el("span", { class: "open", id: "acting-as-help" }, "Open local stage"),
  el("label", { for: "acting-as" }, "Acting as"), input);
}

function iamNotice() {
  return el("section", { class: "notice", "aria-labelledby": "iam-title" },
    el("h2", { id: "iam-title" }, "This stage's API is signed with AWS credentials"),
    el("p", {}, "Every /api call on this stage must be signed with AWS Signature Version 4, " +
      "which a browser page cannot do for you. Programs reach it with the AWS SDKs, " +
      "`curl --aws-sigv4`, or `python -m rez_client --auth sigv4`; people use a stage " +
      "deployed with Cognito sign-in, where this console works."));
}

// --- router ----------------------------------------------------------------------------------

function main() {
  return document.getElementById("main");
}

let routeGeneration = 0;

// A page renders through the ``show`` of its own route: an answer that arrives after the
// person moved on renders nothing. A refresh keeps the keyboard focus where it was.
function viewFor(generation) {
  const show = (...nodes) => {
    if (generation !== routeGeneration) return;
    const focused = document.activeElement;
    const key = focused && main().contains(focused) ? focused.dataset.key || focused.id : null;
    main().replaceChildren(...nodes.flat(Infinity).filter((node) => node != null));
    if (Date.now() - toastShownAt > 800) hideToast();
    if (key) {
      const again = main().querySelector(`[data-key="${CSS.escape(key)}"]`) || document.getElementById(key);
      if (again) {
        if (again.getAttribute("tabindex") === "-1" && again.closest(".strip")) rove(again);
        again.focus({ preventScroll: true });
      }
    }
  };
  show.current = () => generation === routeGeneration;
  return show;
}

function refreshLater(show, delay) {
  if (show.current()) refreshTimer = setTimeout(() => route({ refresh: true }), delay);
}

function updatedLine(show, label = "Refresh now") {
  return el("p", { class: "updated" },
    el("span", {}, `Updated ${clockTime(new Date())}`),
    el("button", { type: "button", id: "refresh", onclick: () => route({ refresh: true }) }, label));
}

async function route(options = {}) {
  clearTimeout(refreshTimer);
  const show = viewFor(++routeGeneration);
  if (authMode === "iam") {
    show(iamNotice());
    return;
  }
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("?")[0].split("/").filter(Boolean);
  const params = new URLSearchParams(hash.split("?")[1] || "");
  markCurrentNav(parts[0] || "");
  try {
    if (parts.length === 0) await overviewPage(show);
    else if (parts[0] === "list") await listPage(show, params);
    else if (parts[0] === "new") await formPage(show, null);
    else if (parts[0] === "from") await fromTemplatePage(show, parts[1] || "");
    else if (parts[0] === "templates" && parts[1] === "new") await templateEditPage(show, null);
    else if (parts[0] === "templates" && parts[2] === "edit") await templateEditPage(show, parts[1]);
    else if (parts[0] === "templates") await templatesPage(show);
    else if (parts[0] === "calendars" && parts[1] === "new") await calendarEditPage(show, null);
    else if (parts[0] === "calendars" && parts[2] === "edit") await calendarEditPage(show, parts[1]);
    else if (parts[0] === "calendars") await calendarsPage(show);
    else if (parts[0] === "s" && parts[2] === "edit") await formPage(show, parts[1]);
    else if (parts[0] === "s") await schedulePage(show, parts[1], options);
    else show(el("p", {}, "Nothing here. ", el("a", { href: "#/" }, "Back to the overview")));
  } catch (error) {
    show(el("p", { class: "error", role: "alert" }, `The console could not reach the API: ${error.message}`));
  }
}

function markCurrentNav(first) {
  const current = first === "" ? "#/" : first === "new" ? "#/new" : ["templates", "from"].includes(first) ? "#/templates"
    : first === "calendars" ? "#/calendars" : "#/list";
  for (const link of document.querySelectorAll(".bar nav a")) {
    if (link.getAttribute("href") === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// A table that becomes a stack of cards on a narrow screen: each cell names its column.
function table(caption, columns, rows, empty) {
  const body = rows.length ? rows.map((cells) => el("tr", {}, cells.map((cell, index) => {
    const attrs = { "data-label": columns[index], class: cell.class };
    return index === 0 ? el("th", { scope: "row", ...attrs }, cell.content) : el("td", attrs, cell.content);
  }))) : el("tr", {}, el("td", { colspan: columns.length }, empty));
  return el("table", { class: "cards" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, columns.map((name) => el("th", { scope: "col" }, name)))),
    el("tbody", {}, body));
}

function cell(content, cls) {
  return { content, class: cls };
}

// --- the overview ----------------------------------------------------------------------------

async function overviewPage(show) {
  setTitle("Overview");
  const result = await api("GET", "/api/overview");
  const heading = el("h2", {}, "Overview");
  if (!result.ok) {
    show(heading, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  const data = result.data;
  const healthOrder = ["failing", "missing", "ok", "paused", "none"];
  const healthWords = { none: "no health (not active)" };
  const tiles = (label, counts, order, kind, href) => el("section", { class: "tiles", "aria-labelledby": `${kind}-title` },
    el("h3", { id: `${kind}-title` }, label),
    el("ul", {}, order.filter((name) => counts[name]).map((name) => el("li", { [`data-${kind}`]: name },
      el("a", { href: href(name) },
        el("span", { class: "count" }, String(counts[name])), " ",
        kind === "health" ? (name === "none" ? el("span", {}, healthWords.none) : healthBadge(name)) : badge(name)))),
    Object.keys(counts).length ? null : el("p", {}, "No schedules yet. ", el("a", { href: "#/new" }, "Create one"))));
  const attention = (data.attention || []).map((item) => [
    cell(el("a", { href: `#/s/${item.id}` }, item.name)),
    cell(healthBadge(item.health)),
    cell(item.last_outcome ? el("span", {}, badge(item.last_outcome), " ", formatTime(item.last_scheduled_time)) : "never ran"),
    cell(el("code", {}, item.schedule_expression)),
  ]);
  const fires = (data.next_fires || []).map((item) => [
    cell(el("a", { href: `#/s/${item.id}` }, item.name)),
    cell(el("span", {}, el("strong", {}, relative(item.next_fire_time)), " · ", whenBoth(item.next_fire_time, item.timezone))),
    cell(el("code", {}, item.schedule_expression)),
    cell(healthBadge(item.health)),
  ]);
  show(
    heading,
    updatedLine(show),
    el("p", { class: "total" }, `${data.total} schedule${data.total === 1 ? "" : "s"}`,
      authMode === "none" ? ` visible to ${actingAs() || "anonymous"}` : "",
      data.complete ? "" : " (the first 5,000 counted)", " · ", el("a", { href: "#/list" }, "all schedules")),
    el("div", { class: "tile-row" },
      tiles("By health", data.by_health || {}, healthOrder, "health", () => "#/list"),
      tiles("By status", data.by_status || {}, STATUSES, "status", (name) => `#/list?status=${name}`)),
    el("section", { "aria-labelledby": "attention-title" },
      el("h3", { id: "attention-title" }, `Failing or missing now (${data.attention_total || 0})`),
      table("The latest run failed, or the slot after it passed with no run", ["Name", "Health", "Last run", "Expression"],
        attention, "Nothing is failing or missing.")),
    el("section", { "aria-labelledby": "fires-title" },
      el("h3", { id: "fires-title" }, "Next fires"),
      table("Across every schedule, soonest first", ["Name", "When", "Expression", "Health"], fires,
        "Nothing is due to fire.")),
  );
  refreshLater(show, OVERVIEW_REFRESH_MS);
}

// --- the list --------------------------------------------------------------------------------

// The list's filter, from the hash: status, name search, labels (``label=k=v``, several ANDed).
function listFilter(params) {
  return {
    status: params.get("status") || "",
    search: params.get("q") || "",
    labels: params.getAll("label").filter(Boolean),
  };
}

async function listPage(show, params) {
  setTitle("Schedules");
  const filter = listFilter(params);
  const cursor = params.get("cursor") || "";
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filter.status) query.set("status", filter.status);
  for (const label of filter.labels) query.append("label", label);
  if (cursor) query.set("cursor", cursor);
  const result = await api("GET", `/api/schedules?${query}`);

  const filters = filterForm(filter);
  const heading = el("h2", {}, "Schedules");
  if (!result.ok) {
    const labelProblem = fieldErrors(result).find((error) => error.field.startsWith("label"));
    if (labelProblem) filters.querySelector("#f-labels-error").textContent = `⚠ ${labelProblem.field}: ${labelProblem.message}`;
    show(heading, filters, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  const items = (result.data.items || []).filter(
    (item) => !filter.search || item.name.toLowerCase().includes(filter.search.toLowerCase()));
  const filterKey = JSON.stringify([filter.status, filter.labels]);
  if (bulk.filterKey !== filterKey) bulk = freshBulk(filterKey);
  bulk.filter = filter;
  bulk.page = items;
  const rows = items.map((item) => [
    cell(el("a", { href: `#/s/${item.id}` }, item.name), "name"),
    cell(selectBox(item), "select"),
    cell(badge(item.status), "status"),
    cell(healthBadge(item.health), "health"),
    cell(labelChips(item.labels), "labels"),
    cell(el("code", {}, item.schedule_expression), "expression"),
    cell(whenBoth(item.next_fire_time, item.timezone), "next-fire"),
    cell(lastRun(item.last_execution), "last-run"),
    cell(item.created_by, "created-by"),
  ]);
  const paging = el("nav", { class: "paging", "aria-label": "Pages" });
  if (cursor) {
    const first = new URLSearchParams(params);
    first.delete("cursor");
    paging.append(el("a", { href: `#/list?${first}` }, "First page"));
  }
  if (result.data.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", result.data.next_cursor);
    paging.append(el("a", { href: `#/list?${next}`, rel: "next" }, "Next page"));
  }
  const by = filter.labels.length ? ` labelled ${filter.labels.join(" and ")}` : "";
  const caption = filter.search ? `Schedules${by} whose name contains “${filter.search}” (this page)` : `Schedules${by}, newest first`;
  show(heading, filters, bulkBar(), table(caption,
    ["Name", "Select", "Status", "Health", "Labels", "Expression", "Next fire", "Last run", "Created by"], rows, "No schedules."), paging);
  if (items.some((item) => item.status === "pending")) refreshLater(show, 3000);
}

function filterForm(filter) {
  const form = el("form", { class: "filters", role: "search", "aria-label": "Filter schedules" },
    el("span", { class: "pair" }, el("label", { for: "f-status" }, "Status"),
      el("select", { id: "f-status", name: "status" },
        el("option", { value: "" }, "all live"),
        STATUSES.map((s) => el("option", { value: s, selected: s === filter.status }, s)))),
    el("span", { class: "pair" }, el("label", { for: "f-labels" }, "With labels"),
      el("input", { id: "f-labels", name: "labels", value: filter.labels.join(" "), placeholder: "team=golf env=prod",
        size: 18, "aria-describedby": "f-labels-help f-labels-error" })),
    el("span", { class: "pair" }, el("label", { for: "f-search" }, "Name contains"),
      el("input", { id: "f-search", name: "q", type: "search", value: filter.search, size: 12 })),
    el("button", { type: "submit" }, "Apply"),
    el("p", { class: "help", id: "f-labels-help" }, "Labels: key=value, several separated by spaces; all must match."),
    el("p", { class: "error", id: "f-labels-error", "aria-live": "polite" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const data = new FormData(form);
    if (data.get("status")) next.set("status", data.get("status"));
    for (const label of String(data.get("labels") || "").split(/[\s,]+/).filter(Boolean)) next.append("label", label);
    if (data.get("q")) next.set("q", data.get("q"));
    location.hash = `#/list?${next}`;
  });
  return form;
}

function lastRun(last) {
  if (!last || !last.outcome) return "—";
  return el("span", {}, badge(last.outcome), " ", formatTime(last.scheduled_time));
}

// --- the bulk bar: act on the selected rows, or on everything the filter picks --------------
//
// A dry run first lists exactly what the action would touch; the confirmation then acts on
// exactly that list (the dry run's ids, with the filter's labels and status still required),
// with one Idempotency-Key for the confirmed intent, so a double click acts once. Its state
// lives here, so the list's own refreshes keep it.

const BULK_ACTIONS = { pause: "Pause", resume: "Resume", delete: "Delete", run: "Run now" };
const RESULT_SYMBOLS = { planned: "○", done: "✔", skipped: "‖", failed: "✖" };

function freshBulk(filterKey) {
  return { filterKey, filter: null, page: [], selected: new Map(), mode: "selected", action: "pause",
    reason: "", plan: null, report: null, busy: false, problem: "" };
}

let bulk = freshBulk("");

function selectBox(item) {
  return el("input", {
    type: "checkbox", class: "select-row", id: `sel-${item.id}`, "data-key": `sel-${item.id}`,
    "aria-label": `Select ${item.name}`, checked: bulk.selected.has(item.id),
    onchange: (event) => {
      if (event.currentTarget.checked) bulk.selected.set(item.id, item.name);
      else bulk.selected.delete(item.id);
      bulk.mode = "selected";
      bulk.plan = null;
      bulk.report = null;
      redrawBulk();
    },
  });
}

function filterSelector(filter) {
  const selector = {};
  if (filter.status) selector.status = filter.status;
  if (filter.labels.length) {
    selector.labels = Object.fromEntries(filter.labels.map((label) => {
      const at = label.indexOf("=");
      return at < 0 ? [label, ""] : [label.slice(0, at), label.slice(at + 1)];
    }));
  }
  return selector;
}

function redrawBulk() {
  const old = document.getElementById("bulk");
  if (!old) return;
  const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement.id : null;
  old.replaceWith(bulkBar());
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

function bulkBar() {
  const filtered = Object.keys(filterSelector(bulk.filter)).length > 0;
  if (!filtered && bulk.mode === "filter") bulk.mode = "selected";
  const choose = (mode) => () => { bulk.mode = mode; bulk.plan = null; bulk.report = null; redrawBulk(); };
  const pageBoxes = bulk.page.length > 0 && bulk.page.every((item) => bulk.selected.has(item.id));
  const bar = el("section", { id: "bulk", class: "bulk", "aria-labelledby": "bulk-title" },
    el("h3", { id: "bulk-title" }, "Act on many"),
    el("div", { class: "bulk-controls" },
      el("span", { class: "pair" }, el("label", { for: "bulk-mode" }, "Which schedules"),
        el("select", { id: "bulk-mode", onchange: (event) => choose(event.currentTarget.value)() },
          el("option", { value: "selected", selected: bulk.mode === "selected" }, `The selected rows (${bulk.selected.size})`),
          el("option", { value: "filter", selected: bulk.mode === "filter", disabled: !filtered },
            filtered ? `All the filter picks: ${filterWords(bulk.filter)}` : "All the filter picks (set a label or status first)"))),
      el("button", { type: "button", id: "bulk-select-page", onclick: () => {
        for (const item of bulk.page) {
          if (pageBoxes) bulk.selected.delete(item.id);
          else bulk.selected.set(item.id, item.name);
          const box = document.getElementById(`sel-${item.id}`);
          if (box) box.checked = !pageBoxes;
        }
        bulk.mode = "selected";
        bulk.plan = null;
        bulk.report = null;
        redrawBulk();
      } }, pageBoxes ? "Clear this page's rows" : "Select this page's rows"),
      el("span", { class: "pair" }, el("label", { for: "bulk-action" }, "Action"),
        el("select", { id: "bulk-action", onchange: (event) => { bulk.action = event.currentTarget.value; bulk.plan = null; bulk.report = null; redrawBulk(); } },
          Object.entries(BULK_ACTIONS).map(([value, words]) => el("option", { value, selected: value === bulk.action }, words)))),
      bulk.action === "pause" ? el("span", { class: "pair" }, el("label", { for: "bulk-reason" }, "Reason (optional)"),
        el("input", { id: "bulk-reason", value: bulk.reason, maxlength: 512, size: 14,
          oninput: (event) => { bulk.reason = event.currentTarget.value; } })) : null,
      el("button", { type: "button", id: "bulk-dry-run", disabled: bulk.busy || (bulk.mode === "selected" && !bulk.selected.size),
        onclick: () => bulkDryRun() }, "Show what it would touch")),
    bulk.problem ? el("p", { class: "error", role: "alert" }, bulk.problem) : null,
    bulk.plan ? planPanel() : null,
    bulk.report ? reportPanel(bulk.report) : null);
  return bar;
}

function filterWords(filter) {
  return [...filter.labels, filter.status ? `status ${filter.status}` : null].filter(Boolean).join(", ");
}

function bulkSelector() {
  if (bulk.mode === "filter") return filterSelector(bulk.filter);
  return { ids: [...bulk.selected.keys()] };
}

async function bulkCall(body, key) {
  bulk.busy = true;
  bulk.problem = "";
  clearTimeout(refreshTimer);
  redrawBulk();
  try {
    return await api("POST", "/api/schedules/bulk", body, key ? { "Idempotency-Key": key } : {});
  } finally {
    bulk.busy = false;
  }
}

async function bulkDryRun() {
  if (bulk.busy) return;
  const selector = bulkSelector();
  const action = bulk.action;
  const result = await bulkCall({ selector, action, dry_run: true });
  bulk.report = null;
  if (!result.ok) {
    bulk.problem = fieldErrors(result).map((error) => `${error.field}: ${error.message}`).join("\n") || problem(result);
    redrawBulk();
    return;
  }
  // the intent the person confirms: exactly the listed schedules, with one key for it
  bulk.plan = { action, selector, data: result.data, key: `console-bulk-${newKey()}`, reason: bulk.reason };
  redrawBulk();
  const confirm = document.getElementById("bulk-confirm") || document.getElementById("bulk-cancel");
  if (confirm) confirm.focus();
}

function planPanel() {
  const { data, action } = bulk.plan;
  const planned = data.results.filter((entry) => entry.result === "planned");
  const verb = BULK_ACTIONS[action].toLowerCase();
  const words = `${planned.length} schedule${planned.length === 1 ? "" : "s"}`;
  return el("div", { class: "bulk-plan", id: "bulk-plan", role: "region", "aria-labelledby": "bulk-plan-title" },
    el("h4", { id: "bulk-plan-title" }, `Dry run: ${verb} would touch ${words}`),
    resultTable(data.results, "What the action would do to each; nothing has changed yet"),
    data.next_cursor ? el("p", { class: "warning" }, "⚠ More schedules match: these are the first 1,000; act on them, then again for the rest.") : null,
    el("div", { class: "actions" },
      planned.length ? el("button", { type: "button", id: "bulk-confirm", class: action === "delete" ? "danger" : "",
        disabled: bulk.busy, onclick: () => bulkConfirm() }, `${BULK_ACTIONS[action]}: these ${words}`) : null,
      el("button", { type: "button", id: "bulk-cancel", disabled: bulk.busy,
        onclick: () => { bulk.plan = null; redrawBulk(); document.getElementById("bulk-dry-run").focus(); } }, "Cancel")));
}

async function bulkConfirm() {
  const plan = bulk.plan;
  if (bulk.busy || !plan) return;
  const ids = plan.data.results.filter((entry) => entry.result === "planned").map((entry) => entry.id);
  const selector = { ...plan.selector, ids };
  const body = { selector, action: plan.action };
  if (plan.action === "pause" && plan.reason.trim()) body.reason = plan.reason.trim();
  let result;
  try {
    result = await bulkCall(body, plan.key);
  } catch {
    result = await bulkCall(body, plan.key);  // the same key: a retried intent acts once
  }
  if (!result.ok) {
    bulk.problem = fieldErrors(result).map((error) => `${error.field}: ${error.message}`).join("\n") || problem(result);
    redrawBulk();
    return;
  }
  bulk.plan = null;
  bulk.report = result.data;
  if (plan.action === "delete") bulk.selected.clear();
  toast(`${BULK_ACTIONS[plan.action]}: ${Object.entries(result.data.counts).map(([k, v]) => `${v} ${k}`).join(", ") || "nothing"}`);
  await route({ refresh: true });
  const report = document.getElementById("bulk-report");
  if (report) report.focus();
}

function reportPanel(report) {
  const counts = ["done", "skipped", "failed"].map((name) => `${RESULT_SYMBOLS[name]} ${report.counts[name] || 0} ${name}`).join(" · ");
  return el("div", { class: "bulk-report", id: "bulk-report", tabindex: "-1", role: "region", "aria-labelledby": "bulk-report-title" },
    el("h4", { id: "bulk-report-title" }, `${BULK_ACTIONS[report.action]}: ${counts}`),
    resultTable(report.results, "What became of each schedule"),
    el("button", { type: "button", id: "bulk-dismiss", onclick: () => { bulk.report = null; redrawBulk(); } }, "Dismiss the report"));
}

function resultTable(results, caption) {
  const rows = results.map((entry) => [
    cell(el("a", { href: `#/s/${entry.id}` }, entry.name)),
    cell(el("span", { class: `badge result-${entry.result}` }, `${RESULT_SYMBOLS[entry.result] || "•"} ${entry.result}`), "result"),
    cell([entry.reason, entry.code ? ` (${entry.code})` : null, entry.execution_id ? `run ${entry.execution_id}` : null].filter(Boolean).join(" ") || "—", "why"),
  ]);
  return table(caption, ["Name", "Result", "Why"], rows, "No schedule matches.");
}

// --- one schedule ----------------------------------------------------------------------------

const FINAL_STATUSES = new Set(["deleted", "completed"]);

async function schedulePage(show, id) {
  const result = await api("GET", `/api/schedules/${id}`);
  if (!result.ok) {
    show(el("p", { class: "error", role: "alert" }, problem(result)), el("a", { href: "#/list" }, "Back to the schedules"));
    return;
  }
  const schedule = result.data;
  setTitle(schedule.name);
  const windowStart = Number(sessionStorage.getItem(`window-${id}`) || Date.now() - 20 * HOUR_MS);
  const windowEnd = windowStart + DAY_MS;

  const [timeline, executions, history] = await Promise.all([
    timelineOf(id, windowStart, windowEnd),
    api("GET", `/api/schedules/${id}/executions?limit=20`),
    api("GET", `/api/schedules/${id}/history?limit=20`),
  ]);
  const running = (executions.ok ? executions.data.items || [] : []).some((run) => run.outcome === "started");
  const live = !FINAL_STATUSES.has(schedule.status) || running;

  show(
    el("p", {}, el("a", { href: "#/list" }, "← All schedules")),
    el("h2", {}, schedule.name, " ", badge(schedule.status), " ", healthBadge(schedule.health)),
    live ? updatedLine(show) : el("p", { class: "updated" }, `Read ${clockTime(new Date())}; it no longer changes.`),
    schedule.last_error ? el("p", { class: "error", role: "alert" }, `Last error: ${schedule.last_error}`) : null,
    actionsFor(schedule),
    reapplySection(schedule),
    backfillSection(schedule),
    definitionSection(schedule),
    timelineSection(schedule, timeline, windowStart, windowEnd),
    executionsSection(schedule, executions),
    historySection(history),
  );
  if (live) refreshLater(show, schedule.status === "pending" ? 2000 : SCHEDULE_REFRESH_MS);
}

// The window's slots: the timeline pages at 1,000 slots (a day of rate(1 minute) is 1,440).
async function timelineOf(id, start, end) {
  const query = new URLSearchParams({ from: new Date(start).toISOString(), to: new Date(end).toISOString() });
  let result = await api("GET", `/api/schedules/${id}/timeline?${query}`);
  const items = result.ok ? [...(result.data.items || [])] : [];
  for (let page = 0; result.ok && result.data.next_cursor && page < 3; page += 1) {
    result = await api("GET", `/api/schedules/${id}/timeline?cursor=${encodeURIComponent(result.data.next_cursor)}`);
    if (result.ok) items.push(...(result.data.items || []));
  }
  return result.ok ? { ok: true, items } : result;
}

function actionsFor(schedule) {
  const actions = el("div", { class: "actions", role: "group", "aria-label": "Actions" });
  if (schedule.status === "deleted") return actions;
  const act = (key, label, handler) => actions.append(el("button", {
    type: "button", id: `act-${key}`, disabled: actionsBusy, onclick: (event) => inFlight(event.currentTarget, actions, handler),
  }, label));
  if (schedule.state === "DISABLED") act("resume", "Resume", () => change(schedule, "resume"));
  else act("pause", "Pause", () => change(schedule, "pause"));
  if (schedule.snoozed_until) act("unsnooze", "End snooze", () => change(schedule, "resume"));
  else act("snooze", "Snooze…", () => snooze(schedule));
  if (schedule.skip) act("unskip", "Undo skip", () => skipSlots(schedule, null));
  else act("skip", "Skip next…", () => skipSlots(schedule, window.prompt("Skip how many of the next slots?", "1")));
  act("run", "Run now", () => runNow(schedule, newKey()));
  act("backfill", "Backfill…", async () => openBackfill(schedule));
  act("edit", "Edit", async () => { location.hash = `#/s/${schedule.id}/edit`; });
  if (schedule.template) act("reapply", "Re-apply from template", () => reapplyDryRun(schedule));
  act("delete", "Delete", () => remove(schedule));
  return actions;
}

// Every action of the group is disabled from the click until its answer: a double click
// sends one request. Refreshes wait while one is in flight.
let actionsBusy = false;

async function inFlight(button, group, handler) {
  if (actionsBusy) return;
  actionsBusy = true;
  clearTimeout(refreshTimer);
  const buttons = [...group.querySelectorAll("button")];
  for (const each of buttons) each.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await handler();
  } finally {
    actionsBusy = false;
    for (const each of buttons) each.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

function definitionSection(schedule) {
  const retry = schedule.retry_policy;
  const alerts = schedule.alerts || {};
  const rows = [
    ["Expression", el("code", {}, schedule.schedule_expression)],
    ["Time zone", schedule.timezone],
    ["State", schedule.state === "DISABLED" ? "disabled (paused)" : "enabled"],
    ["Target", TARGET_WORDS[schedule.target_type] + (schedule.target_arn ? ` → ${schedule.target_arn}` : "")],
    ["Payload", el("code", {}, JSON.stringify(schedule.payload))],
    ["Description", schedule.description],
    ["Starts", schedule.start_date && formatTime(schedule.start_date, schedule.timezone)],
    ["Ends", schedule.end_date && formatTime(schedule.end_date, schedule.timezone)],
    ["Flexible window", schedule.flexible_window_minutes && `${schedule.flexible_window_minutes} min`],
    ["Retries", retry && `up to ${retry.maximum_retry_attempts} attempts within ${retry.maximum_event_age_in_seconds} s`],
    ["Alerts", alertWords(alerts)],
    ["Labels", labelChips(schedule.labels)],
    ["Skips days of", (schedule.exclude_calendars || []).length && el("span", {},
      schedule.exclude_calendars.map((name, index) => [index ? ", " : "", el("a", { href: "#/calendars" }, name)]))],
    ["Snoozed", schedule.snoozed_until && el("span", {}, "until ", whenBoth(schedule.snoozed_until, schedule.timezone),
      ": it resumes by itself")],
    ["Skipping", schedule.skip && el("span", {}, "the slots before ", whenBoth(schedule.skip.until, schedule.timezone),
      schedule.skip.count ? ` (${schedule.skip.count} asked by ${schedule.skip.by})` : ` (asked by ${schedule.skip.by})`)],
    ["Skipped next", (schedule.skipped_fire_times || []).length && el("ul", { class: "skipped-next" },
      schedule.skipped_fire_times.map((slot) => el("li", {}, badge("skipped"), " ", whenBoth(slot.time, schedule.timezone),
        el("span", { class: "reason" }, ` — ${slot.reason}`))))],
    ["Template", schedule.template && el("span", {},
      el("a", { href: "#/templates" }, schedule.template.name), `, version ${schedule.template.version}`,
      Object.keys(schedule.template.params || {}).length
        ? ` (${Object.entries(schedule.template.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})` : "")],
    ["Next fire", schedule.next_fire_time && el("span", {}, relative(schedule.next_fire_time), " · ",
      whenBoth(schedule.next_fire_time, schedule.timezone))],
    ["Created", `${formatTime(schedule.created_date)} by ${schedule.created_by}`],
    ["Version", String(schedule.version)],
  ].filter(([, value]) => value);
  return el("section", { "aria-labelledby": "def-title" },
    el("h3", { id: "def-title" }, "Definition"),
    el("dl", { class: "definition" }, rows.map(([key, value]) => [el("dt", {}, key), el("dd", {}, value)])));
}

function alertWords(alerts) {
  const words = [];
  if (alerts.on_missed !== false) words.push("a missed slot");
  if (alerts.on_late) words.push("a late run");
  const after = alerts.after_failures === undefined ? 1 : alerts.after_failures;
  if (after) words.push(after === 1 ? "a failed run" : `${after} failed runs in a row`);
  const text = words.length ? `on ${words.join(", ")}` : "none";
  return alerts.pause_after_failures ? `${text}; pauses after ${alerts.pause_after_failures} failures in a row` : text;
}

// How long a run took, from its dispatch to its worker's report (run_duration_ms).
function runLength(ms) {
  if (ms === undefined || ms === null) return null;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

// What the worker said about a run: "reported failed after 2.5 s: <its message>", or, for a
// run dispatched and not reported yet, since when it has been running.
function reportWords(run) {
  if (!run) return null;
  if (run.reported_outcome) {
    const took = runLength(run.run_duration_ms);
    return `reported ${run.reported_outcome}${took ? ` after ${took}` : ""}` +
      (run.reported_message ? `: ${run.reported_message}` : "");
  }
  return run.dispatched_at ? `no report since ${formatTime(run.dispatched_at, null, true)}` : null;
}

function slotWord(slot) {
  const when = formatTime(slot.time, null, true);
  const run = slot.execution;
  const parts = [`${when}: ${slot.result}`];
  if (slot.trigger === "manual") parts.push("manual run");
  if (slot.note) parts.push(`${BACKFILLED} backfilled`);
  if (run && run.started_at) parts.push(`started ${formatTime(run.started_at, null, true)} (${lateness(slot.time, run.started_at)})`);
  if (run && run.duration_ms !== undefined) parts.push(`dispatched in ${run.duration_ms} ms`);
  if (reportWords(run)) parts.push(reportWords(run));
  if (run && run.error) parts.push(run.error);
  if (slot.reason && !(run && run.reported_message === slot.reason)) parts.push(slot.reason);
  return parts.join(", ");
}

// Roving focus: the strip is one stop for Tab; arrows, Home and End move along its cells.
function rove(target) {
  const strip = target.closest(".strip");
  for (const cellNode of strip.querySelectorAll(".cell")) cellNode.setAttribute("tabindex", "-1");
  target.setAttribute("tabindex", "0");
  strip.parentElement.querySelector(".strip-detail").textContent = target.getAttribute("aria-label");
}

function stripKeys(event) {
  const cells = [...event.currentTarget.querySelectorAll(".cell")];
  const index = cells.indexOf(document.activeElement);
  if (index < 0) return;
  const perRow = Math.max(1, Math.round(event.currentTarget.clientWidth / cells[0].offsetWidth));
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -index, End: cells.length };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = cells[Math.min(cells.length - 1, Math.max(0, index + moves[event.key]))];
  rove(next);
  next.focus();
}

function daystrip(schedule, items) {
  const now = Date.now();
  const slots = items.filter((slot) => slot.trigger !== "manual");
  if (!slots.length) return null;
  const current = slots.findIndex((slot) => new Date(slot.time).getTime() > now);
  const focusAt = current < 0 ? slots.length - 1 : Math.max(0, current - 1);
  const detail = el("p", { class: "strip-detail", "aria-live": "polite" }, slotWord(slots[focusAt]));
  const strip = el("div", {
    class: "strip", role: "group", "aria-label": "The day's slots, oldest first (arrow keys move)",
    onkeydown: stripKeys,
  }, slots.map((slot, index) => el("span", {
    class: `cell is-${slot.result}${slot.note ? " backfilled" : ""}`, role: "img", tabindex: index === focusAt ? "0" : "-1",
    "data-key": `cell-${slot.time}`, "aria-label": slotWord(slot), title: slotWord(slot),
    "data-word": slot.result, onfocus: (event) => rove(event.currentTarget),
    onmouseenter: (event) => { detail.textContent = event.currentTarget.getAttribute("aria-label"); },
  }, SYMBOLS[slot.result] || "•")));
  const legend = el("ul", { class: "legend", "aria-label": "Symbols" },
    ["succeeded", "failed", "running", "overdue", "timed_out", "late", "missed", "skipped", "upcoming"]
      .map((result) => el("li", {}, badge(result))));
  return el("div", { class: "daystrip" }, strip, detail, legend);
}

function timelineSection(schedule, result, windowStart, windowEnd) {
  const shift = (days) => () => {
    sessionStorage.setItem(`window-${schedule.id}`, String(windowStart + days * DAY_MS));
    route();
  };
  const controls = el("div", { class: "actions", role: "group", "aria-label": "Timeline window" },
    el("button", { type: "button", id: "tl-earlier", onclick: shift(-1) }, "← Earlier day"),
    el("button", {
      type: "button", id: "tl-now",
      onclick: () => { sessionStorage.removeItem(`window-${schedule.id}`); route(); },
    }, "Around now"),
    el("button", { type: "button", id: "tl-later", onclick: shift(1) }, "Later day →"));
  const section = el("section", { "aria-labelledby": "timeline-title", class: "timeline" },
    el("h3", { id: "timeline-title" }, "Timeline: planned against actual"),
    el("p", { class: "hint" },
      `From ${formatTime(new Date(windowStart).toISOString())} to ${formatTime(new Date(windowEnd).toISOString())} (your time).`),
    controls);
  if (!result.ok) {
    section.append(el("p", { class: "error" }, problem(result)));
    return section;
  }
  const items = result.items;
  if (!items.length) {
    section.append(el("p", {}, "No slots in this window."));
    return section;
  }
  // The detailed list: what happened, newest first, then the next few to come.
  const now = Date.now();
  const past = items.filter((slot) => new Date(slot.time).getTime() <= now).reverse().slice(0, 50);
  const coming = items.filter((slot) => new Date(slot.time).getTime() > now).slice(0, 5);
  const list = el("ol", { class: "slots", "aria-label": "Recent and next slots" },
    [...coming.reverse(), ...past].map((slot) => el("li", { class: `slot is-${slot.result}` },
      badge(slot.result),
      el("span", { class: "when" }, whenBoth(slot.time, schedule.timezone)),
      slot.trigger === "manual" ? el("span", { class: "tag" }, "manual run") : null,
      slot.result === "skipped" && slot.reason ? el("span", { class: "reason" }, slot.reason) : null,
      slot.note ? el("span", { class: "tag backfill", title: slot.note }, `${BACKFILLED} backfilled`) : null,
      slot.execution && slot.result !== "skipped" ? el("span", { class: "detail" },
        `started ${formatTime(slot.execution.started_at, null, true)} (${lateness(slot.time, slot.execution.started_at)})` +
        `, attempt ${slot.execution.attempt || 1}` +
        (slot.execution.duration_ms !== undefined ? `, dispatched in ${slot.execution.duration_ms} ms` : "") +
        (slot.execution.error ? `, ${slot.execution.error}` : "")) : null,
      reportWords(slot.execution) ? el("span", { class: "report" }, reportWords(slot.execution)) : null,
      slot.reason && !(slot.execution && slot.execution.reported_message === slot.reason)
        ? el("span", { class: "reason" }, slot.reason) : null)));
  section.append(daystrip(schedule, items), el("h4", {}, "Recent and next slots"), list);
  return section;
}

function executionsSection(schedule, result) {
  const section = el("section", { "aria-labelledby": "exec-title" }, el("h3", { id: "exec-title" }, "Executions"));
  if (!result.ok) return section.append(el("p", { class: "error" }, problem(result))) || section;
  const rows = (result.data.items || []).map((run) => [
    cell(formatTime(run.scheduled_time, schedule.timezone)),
    cell(formatTime(run.started_at, null, true)),
    cell(run.trigger === "scheduled" || !run.trigger ? lateness(run.scheduled_time, run.started_at) : "—"),
    cell(badge(run.outcome)),
    cell(run.trigger === "backfill" ? `${BACKFILLED} backfill` : run.trigger || "scheduled"),
    cell(String(run.attempt || 1)),
    cell(run.duration_ms !== undefined ? `${run.duration_ms} ms` : "—"),
    cell(reportedRun(run), "reported"),
    cell(run.error || (run.skip_reason ? `skipped: ${run.skip_reason}` : ""), "error-text"),
  ]);
  section.append(table("Newest first",
    ["Scheduled", "Started", "Lateness", "Outcome", "Trigger", "Attempt", "Dispatch took", "Run (reported)", "Error"], rows,
    "No executions yet."));
  return section;
}

// The executions table's "Run (reported)" cell: the worker's outcome, how long the run took
// and its message; since when a dispatched run has had no report.
function reportedRun(run) {
  if (run.reported_outcome) {
    const took = runLength(run.run_duration_ms);
    return el("span", {}, badge(run.reported_outcome), took ? ` in ${took}` : "",
      run.reported_message ? el("span", { class: "detail" }, ` ${run.reported_message}`) : null);
  }
  if (run.dispatched_at) return el("span", { class: "muted" }, `no report since ${formatTime(run.dispatched_at, null, true)}`);
  return "—";
}

function historySection(result) {
  const section = el("section", { "aria-labelledby": "history-title" }, el("h3", { id: "history-title" }, "Change history"));
  if (!result.ok) return section.append(el("p", { class: "error" }, problem(result))) || section;
  const items = result.data.items || [];
  section.append(items.length
    ? el("ol", { class: "history" }, items.map((entry) => el("li", {},
      el("strong", {}, entry.action), ` by ${entry.by || "?"}, ${formatTime(entry.at)}`,
      entry.version ? ` (version ${entry.version})` : "",
      entry.fields && entry.fields.length ? `: ${entry.fields.join(", ")}` : "",
      entry.reason ? ` (${entry.reason})` : "")))
    : el("p", {}, "No changes recorded yet."));
  return section;
}

async function change(schedule, action) {
  const result = await api("POST", `/api/schedules/${schedule.id}/${action}`, undefined, { "If-Match": `"${schedule.version}"` });
  toast(result.ok ? `${action === "pause" ? "Pausing" : "Resuming"} ${schedule.name}…` : problem(result));
  await route({ refresh: true });
}

// Skip the next slots (``count``), or undo the skip (null count).
async function skipSlots(schedule, count) {
  if (count === undefined || (count !== null && !String(count).trim())) return;
  const headers = { "If-Match": `"${schedule.version}"` };
  const result = count === null
    ? await api("DELETE", `/api/schedules/${schedule.id}/skip`, undefined, headers)
    : await api("POST", `/api/schedules/${schedule.id}/skip`, { count: Number(count) }, headers);
  toast(result.ok ? (count === null ? "Skip undone" : `Skipping the next ${count} slot(s) of ${schedule.name}`) : problem(result));
  await route({ refresh: true });
}

// A pause that ends by itself: EventBridge Scheduler holds the schedule until then.
async function snooze(schedule) {
  const hours = window.prompt("Snooze for how many hours? (it resumes by itself)", "1");
  if (!hours || !Number(hours)) return;
  const until = new Date(Date.now() + Number(hours) * 3600 * 1000);
  until.setSeconds(0, 0);
  const result = await api("POST", `/api/schedules/${schedule.id}/snooze`, { until: until.toISOString() },
    { "If-Match": `"${schedule.version}"` });
  toast(result.ok ? `Snoozed ${schedule.name} until ${formatTime(until.toISOString())}` : problem(result));
  await route({ refresh: true });
}

// One key per intent: a retry of the same click (a network error) sends the same key, and
// the button stays disabled until the answer, so a double click runs once.
async function runNow(schedule, key) {
  let result;
  try {
    result = await api("POST", `/api/schedules/${schedule.id}/run`, undefined, { "Idempotency-Key": `console-${key}` });
  } catch {
    result = await api("POST", `/api/schedules/${schedule.id}/run`, undefined, { "Idempotency-Key": `console-${key}` });
  }
  toast(result.ok ? `Run requested (${result.data.execution_id})` : problem(result));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await route({ refresh: true });
}

async function remove(schedule) {
  if (!window.confirm(`Delete the schedule “${schedule.name}”? It stops firing and cannot be undone.`)) return;
  const result = await api("DELETE", `/api/schedules/${schedule.id}`, undefined, { "If-Match": `"${schedule.version}"` });
  toast(result.ok ? `Deleting ${schedule.name}…` : problem(result));
  if (result.ok) location.hash = "#/list";
  else await route();
}

// --- create and edit -------------------------------------------------------------------------

const TARGET_WORDS = {
  web_action: "Web action (the stage's web-actions topic)",
  notification: "Notification (the stage's notifications topic)",
  custom: "Custom target (an ARN you give)",
};

const FIELDS = [
  { name: "name", label: "Name", required: true, pattern: "[0-9A-Za-z_.\\-]{1,64}",
    help: "1-64 letters, digits, '-', '_' or '.'" },
  { name: "schedule_expression", label: "Schedule expression", required: true,
    help: "cron(0 6 * * ? *), rate(5 minutes) or at(2027-01-01T09:00:00)" },
  { name: "timezone", label: "Time zone", value: "UTC", list: "zones", help: "An IANA zone, e.g. America/New_York" },
  { name: "target_type", label: "Target", kind: "select", options: Object.entries(TARGET_WORDS) },
  { name: "target_arn", label: "Target ARN", required: true, onlyFor: "custom",
    help: "This stage's SNS topic, SQS queue or Lambda function" },
  { name: "payload", label: "Payload (JSON object)", kind: "textarea", value: "{}" },
  { name: "description", label: "Description", maxlength: 512 },
  { name: "start_date", label: "Start (UTC, optional)", type: "datetime-local" },
  { name: "end_date", label: "End (UTC, optional)", type: "datetime-local" },
  { name: "flexible_window_minutes", label: "Flexible window, minutes (optional)", type: "number", min: 1, max: 1440 },
  { name: "maximum_event_age_in_seconds", label: "Retry: maximum event age, seconds (optional)", type: "number", min: 60, max: 86400, path: "retry_policy.maximum_event_age_in_seconds" },
  { name: "maximum_retry_attempts", label: "Retry: maximum attempts (optional)", type: "number", min: 0, max: 185, path: "retry_policy.maximum_retry_attempts" },
  { name: "action_after_completion", label: "After the last run", kind: "select",
    options: [["NONE", "Keep the schedule"], ["DELETE", "Delete the schedule"]] },
  { name: "state", label: "State", kind: "select", options: [["ENABLED", "Enabled: it fires"], ["DISABLED", "Disabled: paused"]] },
  { name: "exclude_calendars", label: "Skip the days of these calendars (optional)", pattern: "[0-9A-Za-z_.\\-, ]*",
    help: "Names of your calendars (Calendars page), separated by commas: a slot on one of their days is skipped" },
  { name: "alerts-on_missed", label: "Alert when a slot passes with no run", kind: "checkbox", value: true, path: "alerts.on_missed", group: "Alerts" },
  { name: "alerts-on_late", label: "Alert when a run starts late", kind: "checkbox", value: false, path: "alerts.on_late", group: "Alerts" },
  { name: "alerts-after_failures", label: "Alert after this many failed runs in a row (empty: never)", type: "number", min: 1, max: 1000, value: 1, path: "alerts.after_failures", group: "Alerts" },
  { name: "alerts-pause_after_failures", label: "Pause after this many failed runs in a row (empty: never)", type: "number", min: 1, max: 1000, path: "alerts.pause_after_failures", group: "Alerts" },
];

function fieldControl(field, value) {
  const id = `field-${field.name}`;
  const common = {
    id, name: field.name, required: field.required, "aria-describedby": `${id}-help ${id}-error`,
  };
  let control;
  if (field.kind === "select") {
    control = el("select", common, field.options.map(([option, words]) => el("option", { value: option, selected: option === value }, words)));
  } else if (field.kind === "textarea") {
    control = el("textarea", { ...common, rows: 4 });
    control.value = value ?? field.value ?? "";
  } else if (field.kind === "checkbox") {
    control = el("input", { ...common, type: "checkbox", checked: value ?? field.value });
  } else {
    control = el("input", {
      ...common, type: field.type || "text", pattern: field.pattern, min: field.min, max: field.max,
      maxlength: field.maxlength, list: field.list,
    });
    control.value = value === null ? "" : value ?? field.value ?? "";
  }
  const label = el("label", { for: id }, field.label, field.required ? " (required)" : "");
  return el("div", { class: `field${field.kind === "checkbox" ? " check" : ""}`, "data-only-for": field.onlyFor },
    field.kind === "checkbox" ? [control, label] : [label, control],
    el("p", { class: "help", id: `${id}-help` }, field.help || ""),
    el("p", { class: "error", id: `${id}-error`, "aria-live": "polite" }));
}

function fieldError(name, message) {
  const target = document.getElementById(`field-${name}-error`);
  const control = document.getElementById(`field-${name}`);
  if (!target) return false;
  target.textContent = message ? `⚠ ${message}` : "";
  if (control) control.setAttribute("aria-invalid", message ? "true" : "false");
  return true;
}

// The control an error's field names: its own, a part of a group, or the group's first.
function controlFor(path) {
  const exact = FIELDS.find((field) => (field.path || field.name) === path);
  if (exact) return exact.name;
  const parts = path.split(".");
  const byLast = FIELDS.find((field) => field.path && field.path.startsWith(`${parts[0]}.`) && field.name.endsWith(parts.at(-1)));
  if (byLast) return byLast.name;
  const first = FIELDS.find((field) => (field.path || field.name).split(".")[0] === parts[0]);
  return first ? first.name : null;
}

function clearErrors() {
  for (const node of document.querySelectorAll(".field .error, .label-row .error, #labels-error")) node.textContent = "";
  for (const node of document.querySelectorAll("[aria-invalid]")) node.setAttribute("aria-invalid", "false");
  const general = document.getElementById("form-error");
  if (general) general.textContent = "";
}

function toInputDate(iso) {
  return iso ? iso.replace(/Z$/, "").replace(/\+00:00$/, "").slice(0, 16) : "";
}

function numberOrNull(text) {
  return text === "" || text === undefined ? null : Number(text);
}

function readForm(form) {
  const data = Object.fromEntries(new FormData(form));
  const body = {
    name: data.name.trim(),
    schedule_expression: data.schedule_expression.trim(),
    timezone: data.timezone.trim() || "UTC",
    target_type: data.target_type,
    action_after_completion: data.action_after_completion,
    state: data.state,
  };
  if (data.target_type === "custom" && (data.target_arn || "").trim()) body.target_arn = data.target_arn.trim();
  body.payload = JSON.parse(data.payload || "{}");
  if (data.description.trim()) body.description = data.description.trim();
  if (data.start_date) body.start_date = `${data.start_date}:00Z`;
  if (data.end_date) body.end_date = `${data.end_date}:00Z`;
  if (data.flexible_window_minutes) body.flexible_window_minutes = Number(data.flexible_window_minutes);
  if (data.maximum_event_age_in_seconds || data.maximum_retry_attempts) {
    body.retry_policy = {};
    if (data.maximum_event_age_in_seconds) body.retry_policy.maximum_event_age_in_seconds = Number(data.maximum_event_age_in_seconds);
    if (data.maximum_retry_attempts) body.retry_policy.maximum_retry_attempts = Number(data.maximum_retry_attempts);
  }
  body.labels = readLabels();
  body.exclude_calendars = String(data.exclude_calendars || "").split(/[\s,]+/).filter(Boolean);
  body.alerts = {
    on_missed: data["alerts-on_missed"] === "on",
    on_late: data["alerts-on_late"] === "on",
    after_failures: numberOrNull(data["alerts-after_failures"]),
    pause_after_failures: numberOrNull(data["alerts-pause_after_failures"]),
  };
  return body;
}

function checkPayload() {
  const control = document.getElementById("field-payload");
  try {
    const value = JSON.parse(control.value || "{}");
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("must be a JSON object");
    fieldError("payload", "");
    return true;
  } catch (error) {
    fieldError("payload", `payload: ${error.message}`);
    return false;
  }
}

// The target ARN is asked for only for a custom target (and is then required).
function showTargetArn() {
  const type = document.getElementById("field-target_type").value;
  for (const box of document.querySelectorAll("[data-only-for]")) {
    const shown = box.dataset.onlyFor === type;
    box.hidden = !shown;
    for (const control of box.querySelectorAll("input, select, textarea")) control.disabled = !shown;
  }
}

function formValues(schedule) {
  if (!schedule) return {};
  const alerts = schedule.alerts || {};
  return {
    ...schedule,
    payload: JSON.stringify(schedule.payload ?? {}, null, 2),
    exclude_calendars: (schedule.exclude_calendars || []).join(", "),
    start_date: toInputDate(schedule.start_date),
    end_date: toInputDate(schedule.end_date),
    maximum_event_age_in_seconds: schedule.retry_policy?.maximum_event_age_in_seconds,
    maximum_retry_attempts: schedule.retry_policy?.maximum_retry_attempts,
    "alerts-on_missed": alerts.on_missed ?? true,
    "alerts-on_late": alerts.on_late ?? false,
    "alerts-after_failures": alerts.after_failures === undefined ? 1 : alerts.after_failures,
    "alerts-pause_after_failures": alerts.pause_after_failures ?? null,
  };
}

function formFields(values) {
  const plain = FIELDS.filter((field) => !field.group).map((field) => fieldControl(field, values[field.name]));
  plain.push(labelsFieldset(values.labels || {}));
  const alerts = el("fieldset", { class: "group" }, el("legend", {}, "Alerts"),
    FIELDS.filter((field) => field.group === "Alerts").map((field) => fieldControl(field, values[field.name])));
  return [plain, alerts];
}

async function formPage(show, id) {
  let schedule = null;
  if (id) {
    const result = await api("GET", `/api/schedules/${id}`);
    if (!result.ok) {
      show(el("p", { class: "error", role: "alert" }, problem(result)));
      return;
    }
    schedule = result.data;
  }
  setTitle(schedule ? `Edit ${schedule.name}` : "New schedule");
  const preview = el("section", { class: "preview", "aria-labelledby": "preview-title", "aria-live": "polite" },
    el("h3", { id: "preview-title" }, "Next fire times"),
    el("p", { class: "hint" }, "Type an expression to see when it fires."));
  const submit = el("button", { type: "submit", id: "submit" }, schedule ? "Save changes" : "Create schedule");
  const form = el("form", { novalidate: true, "aria-labelledby": "form-title" },
    formFields(formValues(schedule)),
    el("p", { class: "error", id: "form-error", role: "alert" }),
    el("div", { class: "actions" }, submit, el("a", { href: schedule ? `#/s/${schedule.id}` : "#/list" }, "Cancel")));
  const zones = el("datalist", { id: "zones" },
    (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]).map((zone) => el("option", { value: zone })));
  const fromTemplate = schedule ? (schedule.template ? el("p", { class: "hint" },
    `Made from the template ${schedule.template.name}: saving a definition here unlinks it from the template.`) : null)
    : el("p", {}, "Or ", el("a", { href: "#/from/", id: "new-from-template" }, "make it from a template"), ".");
  show(el("h2", { id: "form-title" }, schedule ? `Edit ${schedule.name}` : "New schedule"), fromTemplate,
    el("div", { class: "form-layout" }, form, preview), zones);
  if (!show.current()) return;
  wireForm(form, preview, schedule, submit);
}

function wireForm(form, preview, schedule, submit) {
  let timer = null;
  const refreshPreview = () => {
    clearTimeout(timer);
    timer = setTimeout(() => updatePreview(preview), 300);
  };
  for (const name of ["schedule_expression", "timezone", "start_date", "end_date"]) {
    document.getElementById(`field-${name}`).addEventListener("input", refreshPreview);
  }
  form.addEventListener("focusin", () => keepClearOf(preview));
  form.addEventListener("input", () => keepClearOf(preview));
  document.getElementById("field-target_type").addEventListener("change", showTargetArn);
  showTargetArn();
  document.getElementById("field-payload").addEventListener("blur", checkPayload);
  for (const field of FIELDS) {
    const control = document.getElementById(`field-${field.name}`);
    // An error belongs to its field's value: changing the value clears it.
    control.addEventListener("input", () => { if (field.name !== "schedule_expression") fieldError(field.name, ""); });
    control.addEventListener("blur", () => {
      if (field.name !== "payload" && control.validity && !control.validity.valid) {
        fieldError(field.name, `${field.name}: ${control.validationMessage}`);
      }
    });
  }
  if (schedule) updatePreview(preview);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    if (!checkPayload() || !formValid()) return;
    const body = readForm(form);
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    let result;
    try {
      result = schedule
        ? await api("PUT", `/api/schedules/${schedule.id}`, body, { "If-Match": `"${schedule.version}"` })
        : await api("POST", "/api/schedules", body, { "Idempotency-Key": `console-${newKey()}` });
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
    if (result.ok) {
      toast(schedule ? "Saved: applying the change…" : "Created: applying it…");
      location.hash = `#/s/${result.data.id}`;
      return;
    }
    showProblem(result, schedule);
  });
}

// On a narrow screen the preview sits at the bottom of the screen: the field being filled
// is scrolled above it, never under it.
function keepClearOf(preview) {
  const field = document.activeElement;
  if (!field || !field.closest("form") || !matchMedia("(max-width: 40em)").matches) return;
  const covered = field.getBoundingClientRect().bottom - preview.getBoundingClientRect().top + 8;
  if (covered > 0 && preview.getBoundingClientRect().top > innerHeight / 3) window.scrollBy(0, covered);
}

function formValid() {
  let valid = true;
  for (const field of FIELDS) {
    const control = document.getElementById(`field-${field.name}`);
    if (!control.disabled && control.validity && !control.validity.valid) {
      fieldError(field.name, `${field.name}: ${control.validationMessage}`);
      valid = false;
    }
  }
  return valid;
}

// Each error under its field (by the answer's ``Errors[].field``); anything else once,
// next to the submit button, until the next submit.
function showProblem(result, schedule) {
  const general = document.getElementById("form-error");
  if (result.status === 409 && schedule) {
    general.textContent = `${problem(result)}. Someone changed this schedule since you opened it: ` +
      "reload it to see their change, then edit again.";
    return;
  }
  const unplaced = [];
  for (const error of fieldErrors(result)) {
    if (placeLabelError(error)) continue;
    const name = controlFor(error.field);
    if (!name || !fieldError(name, `${error.field}: ${error.message}`)) unplaced.push(`${error.field}: ${error.message}`);
  }
  if (!fieldErrors(result).length) unplaced.push(problem(result));
  general.textContent = unplaced.join("\n");
  const first = document.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

let previewRequests = 0;

async function updatePreview(preview) {
  const request = ++previewRequests;  // answers can arrive out of order: only the latest counts
  if (!preview.isConnected) return;  // the form was left (saved) before its typing settled
  const expression = document.getElementById("field-schedule_expression").value.trim();
  const timezone = document.getElementById("field-timezone").value.trim() || "UTC";
  if (!expression) return;
  const body = { schedule_expression: expression, timezone, count: 5 };
  const start = document.getElementById("field-start_date").value;
  const end = document.getElementById("field-end_date").value;
  if (start) body.start_date = `${start}:00Z`;
  if (end) body.end_date = `${end}:00Z`;
  const result = await api("POST", "/api/expressions/preview", body);
  if (request !== previewRequests) return;
  const heading = preview.querySelector("h3");
  preview.replaceChildren(heading);
  fieldError("schedule_expression", "");
  fieldError("timezone", "");
  if (!result.ok) {
    const placed = fieldErrors(result).map((error) => fieldError(controlFor(error.field) || "schedule_expression", `${error.field}: ${error.message}`));
    // Today's server names no field: the preview's answer is about the expression it was sent.
    if (!placed.length) fieldError("schedule_expression", problem(result));
    preview.append(el("p", { class: "hint" }, "No fire times: the expression is not valid yet."));
    return;
  }
  const fires = result.data.next || [];
  preview.append(fires.length
    ? el("ol", {}, fires.map((fire) => el("li", {}, whenBoth(fire, timezone))))
    : el("p", {}, "It never fires within its bounds."));
  for (const warning of result.data.warnings || []) {
    preview.append(el("p", { class: "warning" }, `⚠ ${typeof warning === "string" ? warning : warning.message || JSON.stringify(warning)}`));
  }
}

// --- labels ----------------------------------------------------------------------------------

const MAX_LABELS = 5;
let labelRows = 0;

// One key=value row of the form's labels; its error (``labels.<key>``) appears under it.
function labelRow(key = "", value = "") {
  const n = labelRows++;
  const row = el("div", { class: "label-row", "data-row": String(n) },
    el("span", { class: "pair" }, el("label", { for: `label-key-${n}` }, "Key"),
      el("input", { id: `label-key-${n}`, class: "label-key", value: key, maxlength: 128, size: 12,
        "aria-describedby": `label-error-${n}`, oninput: () => clearLabelError(row) })),
    el("span", { class: "pair" }, el("label", { for: `label-value-${n}` }, "Value"),
      el("input", { id: `label-value-${n}`, class: "label-value", value, maxlength: 256, size: 12,
        "aria-describedby": `label-error-${n}`, oninput: () => clearLabelError(row) })),
    el("button", { type: "button", id: `label-remove-${n}`, "aria-label": `Remove label ${n + 1}`, onclick: () => {
      const box = row.parentElement;
      row.remove();
      const next = box.querySelector(".label-key");
      (next || document.getElementById("label-add")).focus();
    } }, "Remove"),
    el("p", { class: "error", id: `label-error-${n}`, "aria-live": "polite" }));
  return row;
}

function clearLabelError(row) {
  row.querySelector(".error").textContent = "";
  for (const input of row.querySelectorAll("input")) input.setAttribute("aria-invalid", "false");
  document.getElementById("labels-error").textContent = "";
}

function labelsFieldset(labels) {
  const rows = el("div", { id: "label-rows" }, Object.entries(labels).map(([key, value]) => labelRow(key, value)));
  const add = el("button", { type: "button", id: "label-add", onclick: () => {
    const row = labelRow();
    rows.append(row);
    row.querySelector("input").focus();
  } }, "Add label");
  return el("fieldset", { class: "group labels", "aria-describedby": "labels-help labels-error" },
    el("legend", {}, "Labels"),
    el("p", { class: "help", id: "labels-help" },
      `Up to ${MAX_LABELS} key=value pairs to find and act on schedules by, e.g. team = golf`),
    rows, add,
    el("p", { class: "error", id: "labels-error", "aria-live": "polite" }));
}

function readLabels() {
  const labels = {};
  for (const row of document.querySelectorAll("#label-rows .label-row")) {
    const key = row.querySelector(".label-key").value.trim();
    const value = row.querySelector(".label-value").value.trim();
    if (key || value) labels[key] = value;
  }
  return labels;
}

// ``labels.<key>: ...`` under that key's row; ``labels: ...`` under the labels.
function placeLabelError(error) {
  if (error.field !== "labels" && !error.field.startsWith("labels.")) return false;
  const key = error.field.slice("labels.".length);
  const row = [...document.querySelectorAll("#label-rows .label-row")]
    .find((each) => error.field !== "labels" && each.querySelector(".label-key").value.trim() === key);
  const target = row ? row.querySelector(".error") : document.getElementById("labels-error");
  if (!target) return false;
  target.textContent = `⚠ ${error.field}: ${error.message}`;
  if (row) for (const input of row.querySelectorAll("input")) input.setAttribute("aria-invalid", "true");
  return true;
}

// Labels as chips; each links to the list filtered by it.
function labelChips(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return null;
  return el("ul", { class: "chips", "aria-label": "Labels" }, entries.map(([key, value]) => el("li", {},
    el("a", { class: "chip", href: `#/list?${new URLSearchParams({ label: `${key}=${value}` })}`,
      title: `List the schedules labelled ${key}=${value}` }, `${key}=${value}`))));
}

// --- calendars -------------------------------------------------------------------------------

function dayWords(calendar) {
  const parts = [];
  if ((calendar.dates || []).length) parts.push(calendar.dates.join(", "));
  for (const range of calendar.ranges || []) parts.push(`${range.from} to ${range.to}`);
  if ((calendar.yearly || []).length) parts.push(`every year on ${calendar.yearly.join(", ")}`);
  return parts.join("; ") || "no days";
}

async function calendarsPage(show) {
  setTitle("Calendars");
  const result = await api("GET", "/api/calendars?limit=100");
  const heading = el("h2", {}, "Calendars");
  const intro = el("p", {}, "A calendar is a set of days off in a time zone (dates, ranges, yearly days, or an iCalendar " +
    "file's all-day events). A schedule that names it in “Skip the days of these calendars” skips every slot on those " +
    "days: shown skipped in its plan, recorded skipped when it fires. ",
  el("a", { href: "#/calendars/new", id: "calendar-new" }, "New calendar"));
  if (!result.ok) {
    show(heading, intro, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  const rows = (result.data.items || []).map((calendar) => [
    cell(calendar.name, "name"),
    cell(calendar.timezone, "timezone"),
    cell(dayWords(calendar), "days"),
    cell((calendar.used_by || []).length
      ? el("span", {}, calendar.used_by.map((id, index) => [index ? ", " : "", el("a", { href: `#/s/${id}` }, id.slice(0, 8))]))
      : "no schedule", "used-by"),
    cell(el("span", { class: "links" },
      el("a", { href: `#/calendars/${encodeURIComponent(calendar.name)}/edit` }, "Edit"),
      el("button", { type: "button", id: `delete-${calendar.name}`, onclick: () => deleteCalendar(calendar) }, "Delete")),
    "use"),
  ]);
  show(heading, intro, table("Your calendars, newest first", ["Name", "Time zone", "Days", "Used by", ""], rows,
    "No calendars yet."));
}

async function deleteCalendar(calendar) {
  if (!window.confirm(`Delete the calendar “${calendar.name}”?`)) return;
  const result = await api("DELETE", `/api/calendars/${calendar.name}`, undefined, { "If-Match": `"${calendar.version}"` });
  toast(result.ok ? `Deleted ${calendar.name}` : problem(result));
  await route({ refresh: true });
}

// A calendar's JSON, edited whole; an .ics file chosen is read into its ics field.
async function calendarEditPage(show, name) {
  let calendar = null;
  if (name) {
    const result = await api("GET", `/api/calendars/${name}`);
    if (!result.ok) {
      show(el("p", { class: "error", role: "alert" }, problem(result)), el("a", { href: "#/calendars" }, "Back to the calendars"));
      return;
    }
    calendar = result.data;
  }
  setTitle(calendar ? `Edit calendar ${calendar.name}` : "New calendar");
  const editable = calendar
    ? { name: calendar.name, timezone: calendar.timezone, dates: calendar.dates, ranges: calendar.ranges, yearly: calendar.yearly }
    : { name: "club-holidays", timezone: "America/New_York", dates: ["2026-12-25", "2027-01-01"], ranges: [], yearly: [] };
  const text = el("textarea", { id: "calendar-json", rows: 14, class: "json", "aria-describedby": "calendar-help calendar-error" });
  text.value = JSON.stringify(editable, null, 2);
  const file = el("input", { type: "file", id: "calendar-ics", accept: ".ics,text/calendar" });
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    const body = JSON.parse(text.value || "{}");
    body.ics = await chosen.text();
    text.value = JSON.stringify(body, null, 2);
  });
  const submit = el("button", { type: "submit", id: "calendar-save" }, calendar ? `Save version ${calendar.version + 1}` : "Create calendar");
  const errorBox = el("p", { class: "error", id: "calendar-error", role: "alert" });
  const form = el("form", { novalidate: true, class: "template-form" },
    el("div", { class: "field" },
      el("label", { for: "calendar-json" }, "The calendar (JSON)"), text,
      el("p", { class: "help", id: "calendar-help" },
        "name; timezone (the days are dates there); dates: [YYYY-MM-DD]; ranges: [{from, to}] (both included); " +
        "yearly: [MM-DD]; ics: an iCalendar file's text (its all-day events are added; timed events are ignored)."),
      errorBox),
    el("div", { class: "field" }, el("label", { for: "calendar-ics" }, "Import an .ics file (optional)"), file),
    el("div", { class: "actions" }, submit, el("a", { href: "#/calendars" }, "Cancel")));
  saveAsJson(form, { text, submit, errorBox, existing: calendar, collection: "calendars" });
  show(el("h2", {}, calendar ? `Edit calendar ${calendar.name}` : "New calendar"), form);
}

// --- templates -------------------------------------------------------------------------------

async function allTemplates() {
  const result = await api("GET", "/api/templates?limit=100");
  return result.ok ? { ok: true, items: result.data.items || [] } : result;
}

// A named item edited as JSON (a template, a calendar): created with POST, or replaced with PUT
// at the version it was read; field errors shown in ``errorBox``; back to the list when saved.
function saveAsJson(form, { text, submit, errorBox, existing, collection }) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    let body;
    try {
      body = JSON.parse(text.value);
    } catch (error) {
      errorBox.textContent = `⚠ not JSON: ${error.message}`;
      return;
    }
    submit.disabled = true;
    let result;
    try {
      result = existing
        ? await api("PUT", `/api/${collection}/${existing.name}`, body, { "If-Match": `"${existing.version}"` })
        : await api("POST", `/api/${collection}`, body);
    } finally {
      submit.disabled = false;
    }
    if (result.ok) {
      toast(`Saved ${result.data.name}, version ${result.data.version}`);
      location.hash = `#/${collection}`;
      return;
    }
    const errors = fieldErrors(result);
    errorBox.textContent = errors.length ? errors.map((error) => `⚠ ${error.field}: ${error.message}`).join("\n") : `⚠ ${problem(result)}`;
    text.focus();
  });
}

function parameterWords(parameters) {
  const entries = Object.entries(parameters || {});
  if (!entries.length) return "none";
  return entries.map(([name, spec]) => `${name}: ${spec.type || "string"}` +
    (spec.default !== undefined && spec.default !== null ? ` = ${JSON.stringify(spec.default)}` : " (required)")).join(", ");
}

async function templatesPage(show) {
  setTitle("Templates");
  const result = await allTemplates();
  const heading = el("h2", {}, "Templates");
  const intro = el("p", {}, "A template is a schedule definition with {{parameters}}; each schedule made from it " +
    "keeps its name and version. A changed template changes no schedule until it is re-applied from the schedule's page. ",
  el("a", { href: "#/templates/new", id: "template-new" }, "New template"));
  if (!result.ok) {
    show(heading, intro, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  const rows = result.items.map((template) => [
    cell(template.name, "name"),
    cell(String(template.version), "version"),
    cell(parameterWords(template.parameters), "parameters"),
    cell(template.description || "", "description"),
    cell(el("span", { class: "links" },
      el("a", { href: `#/from/${encodeURIComponent(template.name)}`, id: `use-${template.name}` }, "New schedule from it"),
      el("a", { href: `#/templates/${encodeURIComponent(template.name)}/edit` }, "Edit")), "use"),
  ]);
  show(heading, intro, table("Your templates, newest first", ["Name", "Version", "Parameters", "Description", ""], rows,
    "No templates yet."));
}

// A template's JSON, edited whole; the server checks it and its errors are listed under it.
async function templateEditPage(show, name) {
  let template = null;
  if (name) {
    const result = await api("GET", `/api/templates/${name}`);
    if (!result.ok) {
      show(el("p", { class: "error", role: "alert" }, problem(result)), el("a", { href: "#/templates" }, "Back to the templates"));
      return;
    }
    template = result.data;
  }
  setTitle(template ? `Edit template ${template.name}` : "New template");
  const editable = template ? { name: template.name, description: template.description, parameters: template.parameters,
    schedule: template.schedule } : { name: "", parameters: { club_id: { type: "integer" } },
    schedule: { name: "club-{{club_id}}", schedule_expression: "cron(0 6 * * ? *)", timezone: "UTC",
      target_type: "notification", payload: { club: "{{club_id}}" }, labels: {} } };
  const text = el("textarea", { id: "template-json", rows: 18, class: "json", "aria-describedby": "template-help template-error" });
  text.value = JSON.stringify(editable, null, 2);
  const submit = el("button", { type: "submit", id: "template-save" }, template ? `Save version ${template.version + 1}` : "Create template");
  const errorBox = el("p", { class: "error", id: "template-error", role: "alert" });
  const form = el("form", { novalidate: true, class: "template-form" },
    el("div", { class: "field" },
      el("label", { for: "template-json" }, "The template (JSON)"),
      text,
      el("p", { class: "help", id: "template-help" },
        "name; parameters: {name: {type: string | integer | boolean, default, description}}; schedule: a schedule's fields, " +
        "where name, schedule_expression, timezone, description, payload and label values may hold {{parameter}}."),
      errorBox),
    el("div", { class: "actions" }, submit, el("a", { href: "#/templates" }, "Cancel")));
  saveAsJson(form, { text, submit, errorBox, existing: template, collection: "templates" });
  show(el("h2", {}, template ? `Edit template ${template.name}` : "New template"), form);
}

// A schedule from a template: pick it, fill its typed parameters (defaults pre-filled),
// preview the fire times it makes, create.
async function fromTemplatePage(show, name) {
  setTitle("New schedule from a template");
  const result = await allTemplates();
  const heading = el("h2", { id: "from-title" }, "New schedule from a template");
  if (!result.ok) {
    show(heading, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  if (!result.items.length) {
    show(heading, el("p", {}, "You have no templates yet. ", el("a", { href: "#/templates/new" }, "Make one")));
    return;
  }
  const template = result.items.find((each) => each.name === decodeURIComponent(name)) || result.items[0];
  const picker = el("select", { id: "from-template", onchange: (event) => { location.hash = `#/from/${encodeURIComponent(event.currentTarget.value)}`; } },
    result.items.map((each) => el("option", { value: each.name, selected: each.name === template.name }, `${each.name} (version ${each.version})`)));
  const params = Object.entries(template.parameters || {}).map(([param, spec]) => parameterControl(param, spec));
  const preview = el("section", { class: "preview", "aria-labelledby": "preview-title", "aria-live": "polite" },
    el("h3", { id: "preview-title" }, "Next fire times"), el("p", { class: "hint" }, "Fill the parameters to see when it fires."));
  const submit = el("button", { type: "submit", id: "submit" }, "Create schedule");
  const form = el("form", { novalidate: true, "aria-labelledby": "from-title" },
    el("div", { class: "field" }, el("label", { for: "from-template" }, "Template"), picker,
      el("p", { class: "help" }, template.description || "")),
    el("fieldset", { class: "group" }, el("legend", {}, "Parameters"),
      params.length ? params : el("p", {}, "This template has no parameters."),
      el("p", { class: "error", id: "field-params-error", "aria-live": "polite" })),
    el("p", { class: "error", id: "form-error", role: "alert" }),
    el("div", { class: "actions" }, submit, el("a", { href: "#/templates" }, "Cancel")));
  show(heading, el("div", { class: "form-layout" }, form, preview));
  if (!show.current()) return;
  const read = () => readParams(template);
  let timer = null;
  form.addEventListener("input", (event) => {
    const box = event.target.closest(".field");
    if (box) {
      const error = box.querySelector(".error");
      if (error) error.textContent = "";
      event.target.setAttribute("aria-invalid", "false");
    }
    clearTimeout(timer);
    timer = setTimeout(() => templatePreview(preview, template.name, read()), 300);
  });
  templatePreview(preview, template.name, read());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = await api("POST", "/api/schedules", { template: template.name, params: read() },
        { "Idempotency-Key": `console-${newKey()}` });
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
    if (answer.ok) {
      toast("Created: applying it…");
      location.hash = `#/s/${answer.data.id}`;
      return;
    }
    placeParamErrors(answer, document.getElementById("form-error"));
  });
}

function parameterControl(param, spec) {
  const id = `field-param-${param}`;
  const type = spec.type || "string";
  const hasDefault = spec.default !== undefined && spec.default !== null;
  const common = { id, "data-param": param, "data-type": type, "aria-describedby": `${id}-help ${id}-error` };
  const control = type === "boolean"
    ? el("input", { ...common, type: "checkbox", checked: spec.default === true })
    : el("input", { ...common, type: type === "integer" ? "number" : "text", step: type === "integer" ? "1" : null,
      value: hasDefault ? String(spec.default) : "" });
  const label = el("label", { for: id }, param, hasDefault ? "" : " (required)");
  const help = `${type}${hasDefault ? `, default ${JSON.stringify(spec.default)}` : ""}${spec.description ? `: ${spec.description}` : ""}`;
  return el("div", { class: `field${type === "boolean" ? " check" : ""}` },
    type === "boolean" ? [control, label] : [label, control],
    el("p", { class: "help", id: `${id}-help` }, help),
    el("p", { class: "error", id: `${id}-error`, "aria-live": "polite" }));
}

// The parameters as typed values; an empty one is left out, so its default applies.
function readParams(template) {
  const params = {};
  for (const control of document.querySelectorAll("[data-param]")) {
    const type = control.dataset.type;
    if (type === "boolean") params[control.dataset.param] = control.checked;
    else if (control.value.trim() === "") continue;
    else if (type === "integer" && /^-?\d+$/.test(control.value.trim())) params[control.dataset.param] = Number(control.value.trim());
    else params[control.dataset.param] = control.value.trim();
  }
  for (const name of Object.keys(params)) if (!(name in (template.parameters || {}))) delete params[name];
  return params;
}

// ``params.<name>`` under that parameter, ``params`` under the parameters, the rest in ``general``.
function placeParamErrors(result, general) {
  const unplaced = [];
  for (const error of fieldErrors(result)) {
    const name = error.field.startsWith("params.") ? error.field.slice("params.".length) : null;
    const target = name ? document.getElementById(`field-param-${name}-error`)
      : error.field === "params" ? document.getElementById("field-params-error") : null;
    if (target) {
      target.textContent = `⚠ ${error.field}: ${error.message}`;
      const control = document.getElementById(`field-param-${name}`);
      if (control) control.setAttribute("aria-invalid", "true");
    } else unplaced.push(`${error.field}: ${error.message}`);
  }
  if (!fieldErrors(result).length) unplaced.push(problem(result));
  if (general) general.textContent = unplaced.join("\n");
  return unplaced;
}

async function templatePreview(preview, name, params) {
  const request = ++previewRequests;
  const result = await api("POST", "/api/expressions/preview", { template: name, params, count: 5 });
  if (request !== previewRequests) return;
  const heading = preview.querySelector("h3");
  preview.replaceChildren(heading);
  if (!result.ok) {
    const unplaced = placeParamErrors(result, null);
    preview.append(el("p", { class: "hint" }, "No fire times yet: ", unplaced.join("; ") || "see the parameters."));
    return;
  }
  const fires = result.data.next || [];
  preview.append(fires.length
    ? el("ol", {}, fires.map((fire) => el("li", {}, whenBoth(fire, result.data.timezone))))
    : el("p", {}, "It never fires within its bounds."));
}

// --- re-apply a schedule from its template ---------------------------------------------------

// The dry run's difference, kept while the page refreshes, until applied or cancelled.
let reapplyPlan = null;

async function reapplyDryRun(schedule) {
  const result = await api("POST", `/api/schedules/${schedule.id}/reapply?dry_run=true`, undefined, { "If-Match": `"${schedule.version}"` });
  reapplyPlan = { id: schedule.id, version: schedule.version, result };
  afterAction(() => document.getElementById("reapply-confirm") || document.getElementById("reapply-cancel"));
}

// Render again once the action's buttons are enabled again (inFlight's end), then focus.
function afterAction(focusTarget) {
  setTimeout(async () => {
    await route({ refresh: true });
    const target = focusTarget && focusTarget();
    if (target) target.focus();
  }, 0);
}

function shown(value) {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function reapplySection(schedule) {
  if (!reapplyPlan || reapplyPlan.id !== schedule.id) return null;
  const { result } = reapplyPlan;
  const cancel = el("button", { type: "button", id: "reapply-cancel", onclick: () => { reapplyPlan = null; route({ refresh: true }); } }, "Cancel");
  const box = el("section", { class: "bulk-plan", id: "reapply", "aria-labelledby": "reapply-title" });
  if (!result.ok) {
    box.append(el("h3", { id: "reapply-title" }, "Re-apply from the template"), el("p", { class: "error", role: "alert" }, problem(result)), cancel);
    return box;
  }
  const data = result.data;
  const changed = data.changed_fields || [];
  const versions = `${schedule.template.name} version ${data.from_version} → version ${data.to_version}`;
  box.append(el("h3", { id: "reapply-title" }, `Re-apply from ${versions}: dry run`));
  if (!changed.length && data.from_version === data.to_version) {
    box.append(el("p", {}, "Nothing would change: the schedule is what its template makes."), cancel);
    return box;
  }
  box.append(
    changed.length ? table("What would change (nothing has changed yet)", ["Field", "Now", "After"],
      changed.map((field) => [cell(field), cell(el("code", {}, shown(schedule[field]))), cell(el("code", {}, shown(data.definition[field])))]), "")
      : el("p", {}, "No field would change; the schedule would record the new version."),
    el("div", { class: "actions" },
      el("button", { type: "button", id: "reapply-confirm", onclick: (event) => inFlight(event.currentTarget, box, async () => {
        const applied = await api("POST", `/api/schedules/${schedule.id}/reapply`, undefined, { "If-Match": `"${reapplyPlan.version}"` });
        reapplyPlan = null;
        toast(applied.ok ? `Re-applied from version ${applied.data.to_version}: applying it…` : problem(applied));
        afterAction(() => document.getElementById("act-reapply"));
      }) }, `Apply: change ${changed.length} field${changed.length === 1 ? "" : "s"}`),
      cancel));
  return box;
}

// --- backfill: a window's past slots, once each, oldest first (docs/backfill.md) --------------

// The open panel (kept across refreshes): its fields as typed, and the last answer.
let backfillPanel = null;

function utcInput(date) {
  return date.toISOString().slice(0, 19);
}

function openBackfill(schedule) {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  backfillPanel = { id: schedule.id, from: utcInput(new Date(now.getTime() - DAY_MS)), to: utcInput(now), slots: "missed", answer: null };
  afterAction(() => document.getElementById("backfill-from"));
}

async function sendBackfill(schedule, dryRun) {
  const panel = backfillPanel;
  const body = { from: `${panel.from}Z`, to: `${panel.to}Z`, slots: panel.slots, dry_run: dryRun };
  const result = await api("POST", `/api/schedules/${schedule.id}/backfill`, body);
  panel.answer = { dryRun, result };
  if (result.ok && !dryRun) toast(`Backfill: ${result.data.counts.started || 0} slot(s) started`);
  afterAction(() => document.getElementById(dryRun ? "backfill-run" : "backfill-close"));
}

function backfillField(name, label) {
  return el("label", { class: "field" }, label, el("input", {
    id: `backfill-${name}`, type: "datetime-local", step: "1", value: backfillPanel[name], required: true,
    oninput: (event) => { backfillPanel[name] = event.currentTarget.value; },
  }));
}

const BACKFILL_CHOICES = [
  ["missed", "Missed: slots that never ran"], ["failed", "Failed: slots whose run failed"], ["all", "All the due slots"],
];

function backfillSection(schedule) {
  if (!backfillPanel || backfillPanel.id !== schedule.id) return null;
  const box = el("section", { class: "bulk-plan", id: "backfill", "aria-labelledby": "backfill-title" },
    el("h3", { id: "backfill-title" }, `${BACKFILLED} Backfill past slots`),
    el("p", { class: "hint" }, "Runs each chosen slot once, oldest first, with the slot's own time; "
      + "a slot that already ran is never run again. Times are UTC; at most 31 days and 1,000 slots."));
  const choice = el("select", { id: "backfill-slots", onchange: (event) => { backfillPanel.slots = event.currentTarget.value; } },
    BACKFILL_CHOICES.map(([value, words]) => el("option", { value, selected: backfillPanel.slots === value }, words)));
  box.append(el("div", { class: "backfill-fields" },
    backfillField("from", "From (UTC)"), backfillField("to", "To (UTC)"),
    el("label", { class: "field" }, "Which slots", choice)));
  box.append(el("div", { class: "actions" },
    el("button", { type: "button", id: "backfill-dry-run", onclick: (event) => inFlight(event.currentTarget, box, () => sendBackfill(schedule, true)) }, "Dry run"),
    el("button", { type: "button", id: "backfill-run", onclick: (event) => inFlight(event.currentTarget, box, () => sendBackfill(schedule, false)) }, "Backfill"),
    el("button", { type: "button", id: "backfill-close", onclick: () => { backfillPanel = null; route({ refresh: true }); } }, "Close")));
  const answer = backfillPanel.answer;
  if (answer) box.append(backfillAnswer(schedule, answer));
  return box;
}

function backfillAnswer(schedule, { dryRun, result }) {
  if (!result.ok) {
    const fields = fieldErrors(result);
    return el("div", { class: "error", role: "alert" }, problem(result),
      fields.length ? el("ul", {}, fields.map((error) => el("li", {}, `${error.field}: ${error.message}`))) : null);
  }
  const data = result.data;
  const counts = Object.entries(data.counts).map(([run, count]) => `${count} ${run.replace("_", " ")}`).join(", ");
  const caption = `${dryRun ? "Dry run: nothing ran" : "Backfill"} (${counts})`;
  return el("div", { class: "backfill-answer", "aria-live": "polite" },
    table(caption, ["Slot", "Its own runs", "Backfill", "Execution"], data.items.map((item) => [
      cell(whenBoth(item.slot, schedule.timezone)), cell(badge(item.result)),
      cell(item.run.replace("_", " ") + (item.outcome ? ` (${item.outcome})` : "")), cell(el("code", {}, item.execution_id)),
    ]), "No slot in this window is one to backfill."),
    dryRun ? null : el("p", { class: "hint" }, "The runs appear in the timeline below as they finish."));
}

// --- start -----------------------------------------------------------------------------------

window.addEventListener("hashchange", () => {
  route();
  main().focus();
});
await loadAuth();
await route();
