// Policy Studio: the editor with inline check problems, and one view per authoring command.
// Every view posts the edited text to this server's studio endpoints; nothing is saved there.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => TomlHighlight.escapeHtml(String(s ?? ""));
const CHECK_DELAY_MS = 300;
const state = { file: null, edited: "", problems: [], policies: [], timer: null, seq: 0 };

// -- talking to the server ------------------------------------------------------------------
async function call(path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("youthmode-key");
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (response.status === 401 || response.status === 403) $("key-box").hidden = false;
  if (!response.ok) {
    const where = (data.errors || []).map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
    throw new Error(`${data.title || response.status}: ${data.detail || ""}${where && where !== data.detail ? ` (${where})` : ""}`);
  }
  return data;
}

const edited = (extra = {}) => ({ file: state.file, text: $("source").value, ...extra });

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

async function run(outId, work) {
  const out = $(outId);
  out.innerHTML = '<p class="busy">working…</p>';
  try {
    out.innerHTML = await work();
  } catch (err) {
    out.innerHTML = `<p class="error-text">${esc(err.message)}</p>`;
  }
}

// -- the editor ------------------------------------------------------------------------------
function render() {
  const text = $("source").value;
  const html = TomlHighlight.lines(text);
  const byLine = new Map();
  for (const p of state.problems.filter((p) => p.file === state.edited && p.line)) {
    if (!byLine.has(p.line)) byLine.set(p.line, []);
    byLine.get(p.line).push(p);
  }
  const severity = (n) => {
    const found = byLine.get(n) || [];
    return found.some((p) => p.severity === "error") ? "error" : found.length ? "warning" : "";
  };
  $("highlight").innerHTML = html.map((h, i) => {
    const cls = severity(i + 1);
    return `<span class="ln${cls ? ` has-${cls}` : ""}">${h || " "}</span>`;
  }).join("\n") + "\n";
  $("gutter").innerHTML = html.map((_, i) => {
    const n = i + 1;
    const cls = severity(n);
    const title = (byLine.get(n) || []).map((p) => `${p.code}: ${p.message}`).join("\n");
    return `<div class="line ${cls}" data-line="${n}" title="${esc(title)}">${cls ? "●" : ""}${n}</div>`;
  }).join("");
  syncScroll();
}

function syncScroll() {
  const src = $("source");
  $("highlight").scrollTop = src.scrollTop;
  $("highlight").scrollLeft = src.scrollLeft;
  $("gutter").scrollTop = src.scrollTop;
}

function showProblems(report) {
  state.problems = report.problems;
  state.edited = report.file;
  const mine = report.problems.filter((p) => p.file === report.file);
  const others = report.problems.filter((p) => p.file !== report.file);
  const row = (p) => `<li class="problem ${p.severity}" data-line="${p.line ?? ""}">
      <span class="where">${p.file === report.file ? (p.line ? `line ${p.line}` : "whole file") : esc(`${p.file.split("/").pop()}${p.line ? `:${p.line}` : ""}`)}</span>
      <code>${esc(p.code)}</code> ${esc(p.message)}${p.key ? ` <span class="key">(at ${esc(p.key)})</span>` : ""}
      ${p.hint ? `<div class="hint">${esc(p.hint)}</div>` : ""}</li>`;
  const summary = report.errors
    ? `${report.errors} error(s), ${report.warnings} warning(s)`
    : `ok: no errors${report.warnings ? `, ${report.warnings} warning(s)` : ""}`;
  setStatus(summary, report.errors ? "bad" : "good");
  $("problems").innerHTML = `<h2>check: ${esc(summary)}</h2><ul>${mine.map(row).join("")}</ul>`
    + (others.length ? `<h3>In other files</h3><ul>${others.map(row).join("")}</ul>` : "");
  if (!report.errors) fillPolicies(report.policies, report.defines);
  render();
}

async function check() {
  const seq = ++state.seq;
  try {
    const report = await call("api/check", edited());
    if (seq === state.seq) showProblems(report); // an older answer never overwrites a newer one
  } catch (err) {
    if (seq === state.seq) setStatus(err.message, "bad");
  }
}

function onEdit() {
  render();
  clearTimeout(state.timer);
  state.timer = setTimeout(check, CHECK_DELAY_MS);
}

function jumpTo(line) {
  const src = $("source");
  const lines = src.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  src.focus();
  src.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

// -- the forms -------------------------------------------------------------------------------
function fillPolicies(policies, defines) {
  state.policies = policies;
  const keep = $("policy").value;
  const options = (select, ids, chosen) => {
    select.innerHTML = ids.map((id) => `<option${id === chosen ? " selected" : ""}>${esc(id)}</option>`).join("");
  };
  const ids = policies.map((p) => p.id);
  options($("policy"), ids, ids.includes(keep) ? keep : defines[0]);
  const base = $("baseline").value;
  const others = ids.filter((id) => !defines.includes(id));
  const marked = policies.find((p) => p.default && !defines.includes(p.id));
  options($("baseline"), others, others.includes(base) ? base : marked ? marked.id : others[0]);
  fillActions();
}

function fillActions() {
  const policy = state.policies.find((p) => p.id === $("policy").value);
  const keep = $("action").value;
  const actions = policy ? policy.actions : [];
  const chosen = actions.includes(keep) ? keep : actions.includes("game.play") ? "game.play" : actions[0];
  $("action").innerHTML = actions.map((a) => `<option${a === chosen ? " selected" : ""}>${esc(a)}</option>`).join("");
}

const number = (id) => ($(id).value === "" ? null : Number($(id).value));

function who() {
  return {
    age: $("age-lower").value !== "" ? null : number("age"),
    age_lower: number("age-lower"),
    age_upper: number("age-upper"),
    jurisdiction: $("jurisdiction").value.trim() || null,
    verified: $("verified").checked,
  };
}

function decisionRequest() {
  const w = who();
  const subject = { verified: w.verified };
  if (w.age !== null) subject.age = w.age;
  if (w.age_lower !== null) {
    subject.age_signals = [{ source: "studio", method: "operator", lower: w.age_lower, upper: w.age_upper }];
  }
  if (w.jurisdiction) subject.jurisdiction = w.jurisdiction;
  const request = { policy: $("policy").value, action: $("action").value, subject };
  if ($("at").value.trim()) request.at = $("at").value.trim();
  const usage = {};
  if ($("today-seconds").value !== "") usage.today_seconds = number("today-seconds");
  if ($("session-seconds").value !== "") usage.session_seconds = number("session-seconds");
  if ($("month-spent").value.trim()) usage.month_spent = $("month-spent").value.trim();
  if (Object.keys(usage).length) request.usage = usage;
  const resource = {};
  if ($("amount").value.trim()) resource.amount = $("amount").value.trim();
  if ($("category").value.trim()) resource.category = $("category").value.trim();
  if (Object.keys(resource).length) request.resource = resource;
  return request;
}

// -- the views -------------------------------------------------------------------------------
async function drawSchedule() {
  const data = await call("api/schedule", edited({
    policy: $("policy").value, action: $("action").value, week: $("week").value.trim() || null, ...who(),
  }));
  const picture = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data.svg)}`;
  const rows = data.days.map((d) => `<tr><td>${esc(d.weekday)} ${esc(d.date)}</td><td>${esc(d.day_type)}</td>
      <td>${esc(d.band)}</td><td>${d.allowed.map((s) => esc(s.join("–"))).join(", ") || "—"}</td></tr>`).join("");
  return `<img id="schedule-svg" alt="week ${esc(data.week)} schedule of ${esc(data.request.action)}" src="${picture}">
    <table class="grid"><tr><th>day</th><th>type</th><th>band</th><th>allowed</th></tr>${rows}</table>`;
}

async function explain() {
  const data = await call("api/explain", edited({ request: decisionRequest() }));
  const d = data.decision;
  const reasons = d.reasons.map((r) => `<li><code>${esc(r.code)}</code> (${esc(r.rule)})
      <div lang="zh-CN">${esc(r.message)}</div><div lang="en">${esc(r.message_en)}</div></li>`).join("");
  const timing = d.allowed
    ? `remaining: ${d.remaining_seconds === null ? "unlimited" : `${d.remaining_seconds} s`}`
    : `next allowed: ${esc(d.next_allowed_at || "none within 14 days")}`;
  const trace = data.trace.map((t) => `<tr class="outcome-${esc(t.outcome)}"><td>${esc(t.rule)}</td>
      <td>${esc(t.kind)}</td><td>${esc(t.outcome)}</td><td>${esc(t.detail)}</td></tr>`).join("");
  return `<p class="effect ${esc(d.effect)}" id="effect">${esc(d.effect)}</p>
    <p>band <b>${esc(d.band)}</b> · ${esc(d.facts.local_time)} (${esc(d.facts.day_type)}) · ${timing}</p>
    ${reasons ? `<ul class="reasons">${reasons}</ul>` : ""}
    <table class="grid" id="trace"><tr><th>rule</th><th>kind</th><th>outcome</th><th>detail</th></tr>${trace}</table>`;
}

async function runTests() {
  const data = await call("api/test", edited());
  const failedFirst = [...data.cases].sort((a, b) => (a.status === "fail" ? 0 : 1) - (b.status === "fail" ? 0 : 1));
  const rows = failedFirst.map((c) => `<tr class="case-${esc(c.status)}"><td>${esc(c.status)}</td>
      <td>${c.line ?? ""}</td><td>${esc(c.name)}</td>
      <td>${c.failures.map((f) => `${esc(f.key)}: expected ${esc(JSON.stringify(f.expected))}, got ${esc(JSON.stringify(f.got))}`).join("<br>")}</td></tr>`).join("");
  const problems = data.problems.map((p) => `<li>${esc(p.file)}:${p.line ?? "?"} ${esc(p.message)}</li>`).join("");
  const coverage = data.coverage.map((c) => `<li>${esc(c.policy)}: ${esc(c.rules_exercised)}/${esc(c.rules_total)} rules exercised (${esc(c.percent)}%)${c.not_exercised.length ? `; not exercised: ${esc(c.not_exercised.join(", "))}` : ""}</li>`).join("");
  return `<p class="summary ${data.failed ? "bad" : "good"}" id="tests-summary">${esc(data.summary)}</p>
    ${problems ? `<ul>${problems}</ul>` : ""}<ul>${coverage}</ul>
    <table class="grid"><tr><th>status</th><th>line</th><th>case</th><th>mismatch</th></tr>${rows}</table>`;
}

function outcomeText(o) {
  // with reasons compared: an allow's obligations (warnings, reminders), a deny's fallbacks
  const extra = o.obligations || o.remedies || [];
  const more = extra.length ? ` [${extra.join(", ")}]` : "";
  return (o.effect === "allow" ? "allow" : `deny (${o.reasons.join(", ")})`) + more;
}

function regionRow(r, sides) {
  const when = r.when.map((w) => `${esc(w.days.join(", "))} ${w.spans.map((s) => esc(s.join("–"))).join(", ")}`).join("; ");
  const conditions = Object.entries(r.conditions).map(([k, v]) => `${esc(k)} ${esc(v.join(" … "))}`).join("; ");
  return `<li class="region"><b>${esc(r.actions.join(", "))}</b> · ages ${esc(r.ages.join(", "))} · ${when}
      ${conditions ? `<div class="conditions">${conditions}</div>` : ""}
      <div>${sides.map((s) => `${esc(s)}: ${esc(outcomeText(r[s]))}`).join(" → ")}</div>
      <details><summary>a request that shows it</summary><pre>${esc(JSON.stringify(r.counterexample, null, 2))}</pre></details></li>`;
}

// Regions grouped by the rules that decide them: what a reviewer needs to look at.
function groupedRegions(regions, sides) {
  if (!regions.length) return "<p>no region</p>";
  const groups = new Map();
  for (const r of regions) {
    const rules = [...new Set(sides.flatMap((s) => (r.because || {})[s] || []))];
    const key = rules.join(", ") || "(no denying rule)";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  return [...groups].map(([rules, rs]) => `<section class="group"><h4>rule: <code>${esc(rules)}</code>
      <span class="count">${rs.length} region(s)</span></h4><ul>${rs.map((r) => regionRow(r, sides)).join("")}</ul></section>`).join("");
}

// What a comparison covers only in part (quiet hours on the subject's clock): said, not hidden.
function notesOf(c) {
  return (c.notes || []).map((n) => `<p class="note">note: ${esc(n)}</p>`).join("");
}

async function runDiff() {
  const year = number("diff-year");
  const data = await call("api/diff", edited({ compare: $("compare").value, ...(year ? { year } : {}) }));
  const parts = data.comparisons.map((c) => `<h3>${esc(c.old.id)} ${esc(c.old.version)} (loaded) → ${esc(c.new.id)} ${esc(c.new.version)} (edited)</h3>
      <p>${c.points} points · ${c.regions.length} region(s)${c.actions_added.length ? ` · actions added: ${esc(c.actions_added.join(", "))}` : ""}${c.actions_removed.length ? ` · actions removed: ${esc(c.actions_removed.join(", "))}` : ""}</p>
      ${notesOf(c)}
      ${groupedRegions(c.regions, ["old", "new"])}`).join("");
  return `<p class="summary ${data.changed ? "bad" : "good"}" id="diff-summary">${data.changed ? "changed" : "no change"} (years ${esc(data.years.join(", "))}, compared: ${esc(data.compare)})</p>${parts}`;
}

async function runFloor() {
  const year = number("floor-year");
  const data = await call("api/floor", edited({ baseline: $("baseline").value || null, ...(year ? { year } : {}) }));
  const parts = data.packs.map((p) => `<h3>${esc(p.pack.id)} against ${esc(p.baseline.id)}: ${p.ok ? "ok" : `${p.counterexamples.length} counterexample region(s)`}</h3>
      ${p.actions_not_in_pack.length ? `<p>actions the pack lacks: ${esc(p.actions_not_in_pack.join(", "))}</p>` : ""}
      ${notesOf(p)}
      ${groupedRegions(p.counterexamples, ["baseline", "pack"])}`).join("");
  return `<p class="summary ${data.ok ? "good" : "bad"}" id="floor-summary">${data.ok ? "the pack keeps the floor" : "the pack allows what the baseline denies"}</p>${parts}`;
}

// -- replay ----------------------------------------------------------------------------------
const KINDS = { allow_to_deny: "allow → deny", deny_to_allow: "deny → allow", reasons_changed: "same effect, other reasons", band_changed: "same outcome, other band" };
const count = (n) => Number(n).toLocaleString("en");

function counts(kinds) {
  return Object.keys(KINDS).filter((k) => kinds[k]).map((k) => `${esc(KINDS[k])} ${count(kinds[k])}`).join(", ");
}

function groupTable(title, id, groups) {
  const rows = Object.entries(groups).map(([name, kinds]) => `<tr><td>${esc(name)}</td><td>${counts(kinds)}</td></tr>`).join("");
  return `<h3>${esc(title)}</h3>${rows ? `<table class="grid" id="${id}"><tr><th></th><th>changes</th></tr>${rows}</table>` : "<p>no change</p>"}`;
}

function replayOutcome(o) {
  return `${esc(o.effect)}${o.reasons.length ? ` (${esc(o.reasons.join(", "))})` : ""}, band ${esc(o.band ?? "-")}`;
}

function cappedNote(data) {
  const r = data.read;
  if (!r.capped) return "";
  const limit = r.capped === "lines" ? `the limit of ${count(r.max_lines)} lines` : `the ${r.max_seconds} s limit`;
  const share = r.size ? ` (${Math.floor((100 * r.bytes) / r.size)} %)` : "";
  return `<p class="capped" id="replay-capped">Stopped at ${limit}: ${count(r.lines)} lines, ${count(r.bytes)} of ${count(r.size)} bytes read${share}. The counts cover those lines only; replay the whole log with <code>youthmode replay</code>.</p>`;
}

async function runReplay() {
  const log = $("replay-path").value.trim() || $("replay-log").value;
  const data = await call("api/replay", edited({ log, examples: number("replay-examples") ?? 3, max_lines: number("replay-lines") ?? 200000 }));
  const c = data.changes;
  const skipped = Object.values(data.skipped).reduce((a, b) => a + b, 0);
  const summary = `${count(data.total)} decisions read: ${count(data.replayed)} replayed, ${count(skipped)} skipped
    · flipped: ${count(data.flipped)} (allow → deny ${count(c.allow_to_deny)}, deny → allow ${count(c.deny_to_allow)})
    · same effect, other reasons: ${count(c.reasons_changed)} · same outcome, other band: ${count(c.band_changed)}
    · unchanged: ${count(data.unchanged)}`;
  const examples = Object.entries(data.examples).filter(([, list]) => list.length).map(([kind, list]) => `<h4>${esc(KINDS[kind])}</h4><ul>${list.map((e) => `<li class="example">
      <code>${esc(e.decision_id)}</code> (${esc(e.source)}:${e.line}) ${esc(e.policy)} <b>${esc(e.action)}</b> at ${esc(e.at)}
      <div>before: ${replayOutcome(e.before)}</div><div>after: ${replayOutcome(e.after)}</div></li>`).join("")}</ul>`).join("");
  const skips = Object.entries(data.skipped).map(([why, n]) => `<tr><td>${esc(why)}</td><td>${count(n)}</td>
      <td>${(data.skipped_examples[why] || []).map((s) => `${esc(s.source)}:${s.line}: ${esc(s.detail)}`).join("<br>")}</td></tr>`).join("");
  return `<p class="summary ${data.flipped ? "bad" : "good"}" id="replay-summary">${summary}</p>${cappedNote(data)}
    ${groupTable("by action", "replay-actions", data.by_action)}${groupTable("by band (as logged)", "replay-bands", data.by_band)}
    ${groupTable("by reason code (gained or lost)", "replay-reasons", data.by_reason)}
    <h3>examples</h3>${examples || "<p>no change</p>"}
    <h3>skipped lines</h3>${skips ? `<table class="grid" id="replay-skipped"><tr><th>reason</th><th>lines</th><th>examples</th></tr>${skips}</table>` : "<p>none</p>"}`;
}

async function loadLogs() {
  const data = await call("api/logs");
  $("replay-off").hidden = data.enabled;
  $("replay-off").textContent = data.enabled ? "" : `Replay is off here: ${data.reason}.`;
  for (const id of ["replay-log", "replay-path", "run-replay"]) $(id).disabled = !data.enabled;
  $("replay-log").innerHTML = data.logs.map((l) => `<option value="${esc(l.log)}">${esc(l.log)}${l.size === null ? "" : ` (${count(l.size)} bytes)`}</option>`).join("");
}

function download() {
  const blob = new Blob([$("source").value], { type: "application/toml" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = state.file;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// -- start -----------------------------------------------------------------------------------
async function openFile(name) {
  const data = await call("api/file", { file: name });
  state.file = data.file;
  $("source").value = data.text;
  $("run-tests").disabled = !data.tests;
  render();
  await check();
}

async function start() {
  const { files } = await call("api/files");
  $("file").innerHTML = files.map((f) => `<option>${esc(f.file)}</option>`).join("");
  const wanted = new URLSearchParams(location.search).get("file");
  if (wanted && files.some((f) => f.file === wanted)) $("file").value = wanted;
  await openFile($("file").value);
  await loadLogs();
}

function wire() {
  $("source").addEventListener("input", onEdit);
  $("source").addEventListener("scroll", syncScroll);
  $("file").addEventListener("change", () => openFile($("file").value).catch((e) => setStatus(e.message, "bad")));
  $("policy").addEventListener("change", fillActions);
  $("download").addEventListener("click", download);
  $("problems").addEventListener("click", (e) => {
    const item = e.target.closest("li.problem");
    if (item && item.dataset.line) jumpTo(Number(item.dataset.line));
  });
  $("key").addEventListener("change", () => {
    sessionStorage.setItem("youthmode-key", $("key").value);
    start().catch((e) => setStatus(e.message, "bad"));
  });
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => {
      for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b === button);
      for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== `tab-${button.dataset.tab}`;
      $("who").hidden = !["schedule", "explain"].includes(button.dataset.tab); // only they ask about one subject
    });
  }
  $("draw").addEventListener("click", () => run("schedule-out", drawSchedule));
  $("explain").addEventListener("click", () => run("explain-out", explain));
  $("run-tests").addEventListener("click", () => run("tests-out", runTests));
  $("run-diff").addEventListener("click", () => run("diff-out", runDiff));
  $("run-floor").addEventListener("click", () => run("floor-out", runFloor));
  $("run-replay").addEventListener("click", () => run("replay-out", runReplay));
}

wire();
start().catch((e) => setStatus(e.message, "bad"));
