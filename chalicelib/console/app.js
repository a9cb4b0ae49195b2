// The schedule console: one page, hash routes, the API under the same base path.
//   #/                list (filters, search, paging)
//   #/new             create
//   #/s/<id>          one schedule: definition, timeline, executions, history, actions
//   #/s/<id>/edit     edit (sends If-Match)

// Served at <base>/ and <base>/console/...: <base> is "" locally and "/<stage>" behind API Gateway.
const BASE = location.pathname.replace(/\/(console\/[^/]*|index\.html)?$/, "");
const PAGE_SIZE = 20;
const DAY_MS = 24 * 3600 * 1000;
const STATES = {
  succeeded: "✔", failed: "✖", running: "▶", late: "⏱", missed: "⚠", skipped: "⏸", upcoming: "○",
  undelivered: "✖", started: "▶",
};
const STATUSES = ["pending", "active", "paused", "error", "completed", "deleted"];
const TOKEN_KEY = "rez-agent-token";

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

function badge(state) {
  const name = state || "unknown";
  return el("span", { class: `badge state-${name}` }, `${STATES[name] || "•"} ${name}`);
}

function formatTime(iso, timeZone) {
  if (!iso) return "—";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  const options = {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  };
  // a slot off the minute (a rate() schedule keeps its creation second) shows its seconds
  if (moment.getUTCSeconds() !== 0) options.second = "2-digit";
  try {
    return new Intl.DateTimeFormat(undefined, timeZone ? { ...options, timeZone } : options).format(moment);
  } catch {
    return iso;
  }
}

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("shown");
  setTimeout(() => box.classList.remove("shown"), 4000);
}

function setTitle(text) {
  document.title = `${text} · rez-agent schedules`;
}

// --- the API ---------------------------------------------------------------------------------

async function api(method, path, body, headers = {}) {
  const request = { method, headers: { ...headers } };
  if (body !== undefined) {
    request.body = JSON.stringify(body);
    request.headers["Content-Type"] = "application/json";
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (authMode === "cognito" && token) request.headers.Authorization = token;
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
  const message = (result.data && (result.data.Message || result.data.message)) || `HTTP ${result.status}`;
  return `${message}`;
}

// --- auth ------------------------------------------------------------------------------------

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
      box.append(el("span", { class: "open" }, "Open local stage: no sign-in"));
    }
  } catch {
    authMode = "none";
  }
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
// person moved on (a slow list behind a click on "New schedule") renders nothing.
function viewFor(generation) {
  const show = (...nodes) => {
    if (generation === routeGeneration) main().replaceChildren(...nodes.flat(Infinity).filter((node) => node != null));
  };
  show.current = () => generation === routeGeneration;
  return show;
}

function refreshLater(show, delay) {
  if (show.current()) refreshTimer = setTimeout(route, delay);
}

async function route() {
  clearTimeout(refreshTimer);
  const show = viewFor(++routeGeneration);
  if (authMode === "iam") {
    show(iamNotice());
    return;
  }
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("?")[0].split("/").filter(Boolean);
  try {
    if (parts.length === 0) await listPage(show, new URLSearchParams(hash.split("?")[1] || ""));
    else if (parts[0] === "new") await formPage(show, null);
    else if (parts[0] === "s" && parts[2] === "edit") await formPage(show, parts[1]);
    else if (parts[0] === "s") await schedulePage(show, parts[1]);
    else show(el("p", {}, "Nothing here. ", el("a", { href: "#/" }, "Back to the schedules")));
  } catch (error) {
    show(el("p", { class: "error", role: "alert" }, `The console could not reach the API: ${error.message}`));
  }
}

// --- the list --------------------------------------------------------------------------------

async function listPage(show, params) {
  setTitle("Schedules");
  const status = params.get("status") || "";
  const creator = params.get("created_by") || "";
  const search = params.get("q") || "";
  const cursor = params.get("cursor") || "";
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (status) query.set("status", status);
  if (creator) query.set("created_by", creator);
  if (cursor) query.set("cursor", cursor);
  const result = await api("GET", `/api/schedules?${query}`);

  const filters = el("form", { class: "filters", role: "search", "aria-label": "Filter schedules" },
    el("label", { for: "f-status" }, "Status"),
    el("select", { id: "f-status", name: "status" },
      el("option", { value: "" }, "all live"),
      STATUSES.map((s) => el("option", { value: s, selected: s === status }, s))),
    el("label", { for: "f-creator" }, "Created by"),
    el("input", { id: "f-creator", name: "created_by", value: creator }),
    el("label", { for: "f-search" }, "Name contains"),
    el("input", { id: "f-search", name: "q", type: "search", value: search }),
    el("button", { type: "submit" }, "Apply"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(filters)) if (value) next.set(key, value);
    location.hash = `#/?${next}`;
  });

  const heading = el("h2", {}, "Schedules");
  if (!result.ok) {
    show(heading, filters, el("p", { class: "error", role: "alert" }, problem(result)));
    return;
  }
  const items = (result.data.items || []).filter(
    (item) => !search || item.name.toLowerCase().includes(search.toLowerCase()));
  const rows = items.map((item) => el("tr", { "data-id": item.id },
    el("th", { scope: "row" }, el("a", { href: `#/s/${item.id}` }, item.name)),
    el("td", {}, badge(item.status)),
    el("td", { class: "health" }, "…"),
    el("td", { class: "next-zone" }, "…"),
    el("td", { class: "next-local" }, "…"),
    el("td", { class: "last-run" }, lastRun(item)),
    el("td", {}, item.created_by)));
  const table = el("table", {},
    el("caption", {}, search ? `Schedules whose name contains “${search}” (this page)` : "Schedules, newest first"),
    el("thead", {}, el("tr", {},
      ["Name", "Status", "Health", "Next fire (its zone)", "Next fire (your time)", "Last run", "Created by"]
        .map((name) => el("th", { scope: "col" }, name)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 7 }, "No schedules."))));
  const paging = el("nav", { class: "paging", "aria-label": "Pages" });
  if (cursor) {
    const first = new URLSearchParams(params);
    first.delete("cursor");
    paging.append(el("a", { href: `#/?${first}` }, "First page"));
  }
  if (result.data.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", result.data.next_cursor);
    paging.append(el("a", { href: `#/?${next}`, rel: "next" }, "Next page"));
  }
  show(heading, filters, el("div", { class: "scroll" }, table), paging);
  if (show.current()) fillRows(rows, items);
  if (items.some((item) => item.status === "pending")) refreshLater(show, 3000);
}

// The list's records carry no timeline: each row's health, next fire time and last run come
// from the schedule read alone (one request per row of the page, in parallel).
function fillRows(rows, items) {
  rows.forEach(async (row, index) => {
    const item = items[index];
    const result = await api("GET", `/api/schedules/${item.id}`);
    const detail = result.ok ? result.data : {};
    row.querySelector(".health").replaceChildren(detail.health ? healthBadge(detail.health) : "—");
    row.querySelector(".next-zone").textContent = formatTime(detail.next_fire_time, item.timezone);
    row.querySelector(".next-local").textContent = formatTime(detail.next_fire_time);
    if (detail.last_execution) row.querySelector(".last-run").replaceChildren(lastRun(detail));
  });
}

function healthBadge(health) {
  const marks = { ok: "✔", late: "⏱", missing: "⚠", failing: "✖", paused: "⏸" };
  return el("span", { class: `badge health-${health}` }, `${marks[health] || "•"} ${health}`);
}

function lastRun(item) {
  const last = item.last_execution || (item.executions && item.executions.last_outcome
    ? { outcome: item.executions.last_outcome, scheduled_time: item.executions.last_scheduled_time } : null);
  if (!last || !last.outcome) return "—";
  return el("span", {}, badge(last.outcome), " ", formatTime(last.scheduled_time));
}

// --- one schedule ----------------------------------------------------------------------------

async function schedulePage(show, id) {
  const result = await api("GET", `/api/schedules/${id}`);
  if (!result.ok) {
    show(el("p", { class: "error", role: "alert" }, problem(result)), el("a", { href: "#/" }, "Back to the schedules"));
    return;
  }
  const schedule = result.data;
  setTitle(schedule.name);
  const windowStart = Number(sessionStorage.getItem(`window-${id}`) || Date.now() - DAY_MS);

  const actions = el("div", { class: "actions", role: "group", "aria-label": "Actions" });
  const act = (label, handler) => actions.append(el("button", { type: "button", onclick: handler }, label));
  if (schedule.status !== "deleted") {
    if (schedule.state === "DISABLED") act("Resume", () => change(schedule, "resume"));
    else act("Pause", () => change(schedule, "pause"));
    act("Run now", () => runNow(schedule));
    act("Edit", () => { location.hash = `#/s/${id}/edit`; });
    act("Delete", () => remove(schedule));
  }

  const [timeline, executions, history] = await Promise.all([
    api("GET", `/api/schedules/${id}/timeline?${new URLSearchParams({
      from: new Date(windowStart).toISOString(), to: new Date(windowStart + 2 * DAY_MS).toISOString(),
    })}`),
    api("GET", `/api/schedules/${id}/executions?limit=20`),
    api("GET", `/api/schedules/${id}/history?limit=20`),
  ]);

  show(
    el("p", {}, el("a", { href: "#/" }, "← All schedules")),
    el("h2", {}, schedule.name, " ", badge(schedule.status), schedule.health ? [" ", healthBadge(schedule.health)] : null),
    schedule.last_error ? el("p", { class: "error", role: "alert" }, `Last error: ${schedule.last_error}`) : null,
    actions,
    definitionSection(schedule),
    timelineSection(schedule, timeline, windowStart),
    executionsSection(schedule, executions),
    historySection(schedule, history),
  );
  if (schedule.status === "pending") refreshLater(show, 2000);
}

function definitionSection(schedule) {
  const rows = [
    ["Expression", schedule.schedule_expression],
    ["Time zone", schedule.timezone],
    ["State", schedule.state],
    ["Target", schedule.target_type + (schedule.target_arn ? ` → ${schedule.target_arn}` : "")],
    ["Payload", JSON.stringify(schedule.payload)],
    ["Description", schedule.description],
    ["Starts", schedule.start_date && formatTime(schedule.start_date, schedule.timezone)],
    ["Ends", schedule.end_date && formatTime(schedule.end_date, schedule.timezone)],
    ["Flexible window", schedule.flexible_window_minutes && `${schedule.flexible_window_minutes} min`],
    ["Next fire", schedule.next_fire_time &&
      `${formatTime(schedule.next_fire_time, schedule.timezone)} (your time: ${formatTime(schedule.next_fire_time)})`],
    ["Created", `${formatTime(schedule.created_date)} by ${schedule.created_by}`],
    ["Version", String(schedule.version)],
  ].filter(([, value]) => value);
  return el("section", { "aria-labelledby": "def-title" },
    el("h3", { id: "def-title" }, "Definition"),
    el("dl", { class: "definition" }, rows.map(([key, value]) => [el("dt", {}, key), el("dd", {}, value)])));
}

function timelineSection(schedule, result, windowStart) {
  const shift = (days) => () => {
    sessionStorage.setItem(`window-${schedule.id}`, String(windowStart + days * DAY_MS));
    route();
  };
  const controls = el("div", { class: "actions", role: "group", "aria-label": "Timeline window" },
    el("button", { type: "button", onclick: shift(-1) }, "← Earlier day"),
    el("button", {
      type: "button",
      onclick: () => { sessionStorage.removeItem(`window-${schedule.id}`); route(); },
    }, "Around now"),
    el("button", { type: "button", onclick: shift(1) }, "Later day →"));
  const section = el("section", { "aria-labelledby": "timeline-title", class: "timeline" },
    el("h3", { id: "timeline-title" }, "Timeline: planned against actual"),
    el("p", { class: "hint" },
      `From ${formatTime(new Date(windowStart).toISOString())} to ${formatTime(new Date(windowStart + 2 * DAY_MS).toISOString())} (your time).`),
    controls);
  if (!result.ok) {
    section.append(el("p", { class: "error" }, problem(result)));
    return section;
  }
  const items = result.data.items || [];
  if (!items.length) {
    section.append(el("p", {}, "No slots in this window."));
    return section;
  }
  const list = el("ol", { class: "slots", tabindex: "0", "aria-label": "Slots in this window" },
    items.map((slot) => el("li", { class: `slot state-${slot.state}` },
      badge(slot.state),
      el("span", { class: "when" }, formatTime(slot.time, schedule.timezone)),
      el("span", { class: "local" }, `your time ${formatTime(slot.time)}`),
      slot.trigger === "manual" ? el("span", { class: "tag" }, "manual run") : null,
      slot.execution ? el("span", { class: "detail" },
        `attempt ${slot.execution.attempt || 1}` +
        (slot.execution.duration_ms !== undefined ? `, ${slot.execution.duration_ms} ms` : "") +
        (slot.execution.error ? `, ${slot.execution.error}` : "")) : null)));
  section.append(el("div", { class: "scroll" }, list));
  return section;
}

function executionsSection(schedule, result) {
  const section = el("section", { "aria-labelledby": "exec-title" }, el("h3", { id: "exec-title" }, "Executions"));
  if (!result.ok) return section.append(el("p", { class: "error" }, problem(result))) || section;
  const items = result.data.items || [];
  const rows = items.map((run) => el("tr", {},
    el("td", {}, formatTime(run.scheduled_time, schedule.timezone)),
    el("td", {}, badge(run.outcome)),
    el("td", {}, run.trigger || "scheduled"),
    el("td", {}, String(run.attempt || 1)),
    el("td", {}, run.duration_ms !== undefined ? `${run.duration_ms} ms` : "—"),
    el("td", {}, run.error || "")));
  section.append(el("div", { class: "scroll" }, el("table", {},
    el("caption", {}, "Newest first"),
    el("thead", {}, el("tr", {}, ["Scheduled", "Outcome", "Trigger", "Attempt", "Duration", "Error"]
      .map((name) => el("th", { scope: "col" }, name)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 6 }, "No executions yet."))))));
  return section;
}

function historySection(schedule, result) {
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
  route();
}

async function runNow(schedule) {
  const result = await api("POST", `/api/schedules/${schedule.id}/run`, undefined,
    { "Idempotency-Key": `console-${schedule.id}-${Date.now()}` });
  toast(result.ok ? `Run requested (${result.data.execution_id})` : problem(result));
  setTimeout(route, 1500);
}

async function remove(schedule) {
  if (!window.confirm(`Delete the schedule “${schedule.name}”? It stops firing and cannot be undone.`)) return;
  const result = await api("DELETE", `/api/schedules/${schedule.id}`, undefined, { "If-Match": `"${schedule.version}"` });
  toast(result.ok ? `Deleting ${schedule.name}…` : problem(result));
  if (result.ok) location.hash = "#/";
  else route();
}

// --- create and edit -------------------------------------------------------------------------

const FIELDS = [
  { name: "name", label: "Name", required: true, pattern: "[0-9A-Za-z_.\\-]{1,64}",
    help: "1-64 letters, digits, '-', '_' or '.'" },
  { name: "schedule_expression", label: "Schedule expression", required: true,
    help: "cron(0 6 * * ? *), rate(5 minutes) or at(2027-01-01T09:00:00)" },
  { name: "timezone", label: "Time zone", value: "UTC", list: "zones", help: "An IANA zone, e.g. America/New_York" },
  { name: "target_type", label: "Target", kind: "select", options: ["web_action", "notification", "custom"] },
  { name: "target_arn", label: "Target ARN (custom only)", help: "An SNS topic, SQS queue or Lambda function" },
  { name: "payload", label: "Payload (JSON object)", kind: "textarea", value: "{}" },
  { name: "description", label: "Description", maxlength: 512 },
  { name: "start_date", label: "Start (UTC, optional)", type: "datetime-local" },
  { name: "end_date", label: "End (UTC, optional)", type: "datetime-local" },
  { name: "flexible_window_minutes", label: "Flexible window, minutes (optional)", type: "number", min: 1, max: 1440 },
  { name: "maximum_event_age_in_seconds", label: "Retry: maximum event age, seconds (optional)", type: "number", min: 60, max: 86400, group: "retry_policy" },
  { name: "maximum_retry_attempts", label: "Retry: maximum attempts (optional)", type: "number", min: 0, max: 185, group: "retry_policy" },
  { name: "action_after_completion", label: "After the last run", kind: "select", options: ["NONE", "DELETE"] },
  { name: "state", label: "State", kind: "select", options: ["ENABLED", "DISABLED"] },
];

function fieldControl(field, value) {
  const id = `field-${field.name}`;
  const common = {
    id, name: field.name, required: field.required, "aria-describedby": `${id}-help ${id}-error`,
  };
  let control;
  if (field.kind === "select") {
    control = el("select", common, field.options.map((option) => el("option", { value: option, selected: option === value }, option)));
  } else if (field.kind === "textarea") {
    control = el("textarea", { ...common, rows: 4 });
    control.value = value ?? field.value ?? "";
  } else {
    control = el("input", {
      ...common, type: field.type || "text", pattern: field.pattern, min: field.min, max: field.max,
      maxlength: field.maxlength, list: field.list,
    });
    control.value = value ?? field.value ?? "";
  }
  return el("div", { class: "field" },
    el("label", { for: id }, field.label, field.required ? " (required)" : ""),
    control,
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

function clearErrors() {
  for (const node of document.querySelectorAll(".field .error")) node.textContent = "";
  for (const node of document.querySelectorAll("[aria-invalid]")) node.setAttribute("aria-invalid", "false");
  const general = document.getElementById("form-error");
  if (general) general.textContent = "";
}

function toInputDate(iso) {
  return iso ? iso.replace(/Z$/, "").replace(/\+00:00$/, "").slice(0, 16) : "";
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
  if (data.target_arn.trim()) body.target_arn = data.target_arn.trim();
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
  const values = schedule ? {
    ...schedule,
    payload: JSON.stringify(schedule.payload ?? {}, null, 2),
    start_date: toInputDate(schedule.start_date),
    end_date: toInputDate(schedule.end_date),
    maximum_event_age_in_seconds: schedule.retry_policy?.maximum_event_age_in_seconds,
    maximum_retry_attempts: schedule.retry_policy?.maximum_retry_attempts,
  } : {};
  const preview = el("section", { class: "preview", "aria-labelledby": "preview-title", "aria-live": "polite" },
    el("h3", { id: "preview-title" }, "Next fire times"),
    el("p", { class: "hint" }, "Type an expression to see when it fires."));
  const form = el("form", { novalidate: true, "aria-labelledby": "form-title" },
    FIELDS.map((field) => fieldControl(field, values[field.name])),
    el("p", { class: "error", id: "form-error", role: "alert" }),
    el("div", { class: "actions" },
      el("button", { type: "submit" }, schedule ? "Save changes" : "Create schedule"),
      el("a", { href: schedule ? `#/s/${schedule.id}` : "#/" }, "Cancel")));
  const zones = el("datalist", { id: "zones" },
    (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]).map((zone) => el("option", { value: zone })));
  show(el("h2", { id: "form-title" }, schedule ? `Edit ${schedule.name}` : "New schedule"),
    el("div", { class: "form-layout" }, form, preview), zones);
  if (!show.current()) return;

  let timer = null;
  const refreshPreview = () => {
    clearTimeout(timer);
    timer = setTimeout(() => updatePreview(form, preview), 300);
  };
  for (const name of ["schedule_expression", "timezone", "start_date", "end_date"]) {
    document.getElementById(`field-${name}`).addEventListener("input", refreshPreview);
  }
  document.getElementById("field-payload").addEventListener("blur", checkPayload);
  for (const field of FIELDS) {
    const control = document.getElementById(`field-${field.name}`);
    control.addEventListener("blur", () => {
      if (field.name !== "payload" && control.validity && !control.validity.valid) {
        fieldError(field.name, `${field.name}: ${control.validationMessage}`);
      } else if (field.name !== "payload" && field.name !== "schedule_expression") {
        fieldError(field.name, "");
      }
    });
  }
  if (schedule) updatePreview(form, preview);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    if (!checkPayload()) return;
    let invalid = false;
    for (const field of FIELDS) {
      const control = document.getElementById(`field-${field.name}`);
      if (control.validity && !control.validity.valid) {
        fieldError(field.name, `${field.name}: ${control.validationMessage}`);
        invalid = true;
      }
    }
    if (invalid) return;
    const body = readForm(form);
    const result = schedule
      ? await api("PUT", `/api/schedules/${schedule.id}`, body, { "If-Match": `"${schedule.version}"` })
      : await api("POST", "/api/schedules", body);
    if (result.ok) {
      toast(schedule ? "Saved: applying the change…" : "Created: applying it…");
      location.hash = `#/s/${result.data.id}`;
      return;
    }
    showProblem(result, schedule);
  });
}

function showProblem(result, schedule) {
  const general = document.getElementById("form-error");
  if (result.status === 409 && schedule) {
    general.textContent = `${problem(result)}. Someone changed this schedule since you opened it: ` +
      "reload it to see their change, then edit again.";
    return;
  }
  const message = problem(result);
  let placed = false;
  for (const part of message.split("; ")) {
    const field = part.split(":")[0].split(".")[0].trim();
    const name = field === "retry_policy" ? "maximum_retry_attempts" : field;
    if (fieldError(name, part)) placed = true;
    else general.textContent = (general.textContent ? `${general.textContent}; ` : "") + part;
  }
  if (!placed && !general.textContent) general.textContent = message;
  const first = document.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

let previewRequests = 0;

async function updatePreview(form, preview) {
  const request = ++previewRequests;  // answers can arrive out of order: only the latest counts
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
  if (!result.ok) {
    const message = problem(result);
    const field = message.split(":")[0].split(".")[0].trim();
    fieldError(field === "timezone" ? "timezone" : "schedule_expression", message);
    preview.append(el("p", { class: "hint" }, "No fire times: the expression is not valid yet."));
    return;
  }
  fieldError("schedule_expression", "");
  fieldError("timezone", "");
  const fires = result.data.next || [];
  preview.append(fires.length
    ? el("ol", {}, fires.map((fire) => el("li", {}, formatTime(fire, timezone), el("span", { class: "local" }, ` (your time ${formatTime(fire)})`))))
    : el("p", {}, "It never fires within its bounds."));
  for (const warning of result.data.warnings || []) {
    preview.append(el("p", { class: "warning" }, `⚠ ${typeof warning === "string" ? warning : warning.message || JSON.stringify(warning)}`));
  }
}

// --- start -----------------------------------------------------------------------------------

window.addEventListener("hashchange", () => {
  route();
  main().focus();
});
await loadAuth();
await route();
