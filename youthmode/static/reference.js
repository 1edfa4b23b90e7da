"use strict";
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const refName = (r) => r.split("/").pop();
function typeOf(s) {
  if (!s) return "any";
  if (s.$ref) return `<a href="#schema-${refName(s.$ref)}">${refName(s.$ref)}</a>`;
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  if (s.type === "array") return `list of ${typeOf(s.items)}`;
  if (s.enum) return s.enum.map((v) => `<code>${esc(v)}</code>`).join(", ");
  return esc(s.format ? `${s.type} (${s.format})` : s.type || "object");
}
function schemaTable(name, s) {
  const req = new Set(s.required || []);
  const rows = Object.entries(s.properties || {}).map(([k, v]) =>
    `<tr><td><code>${esc(k)}</code>${req.has(k) ? " *" : ""}</td><td>${typeOf(v)}</td><td>${esc(v.description || "")}</td></tr>`).join("");
  return `<h3 id="schema-${esc(name)}">${esc(name)}</h3><p>${esc(s.description || "")}</p>` +
    (rows ? `<table><tr><th>field</th><th>type</th><th>meaning</th></tr>${rows}</table>` : "");
}
fetch("../openapi.json").then((r) => r.json()).then((doc) => {
  let html = `<p>${esc(doc.info.description || "")} Version ${esc(doc.info.version)}.</p><h2>Endpoints</h2>`;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const body = op.requestBody ? typeOf(op.requestBody.content["application/json"].schema) : "";
      const codes = Object.entries(op.responses).map(([c, r]) => `<code>${c}</code> ${esc(r.description)}`).join("; ");
      html += `<div class="op"><span class="method ${method}">${method}</span> <code>${esc(path)}</code> — ${esc(op.summary || "")}
        <div class="muted">${esc(op.description || "no auth")}</div>
        ${body ? `<div>Body: ${body}</div>` : ""}<div>Responses: ${codes}</div></div>`;
    }
  }
  html += "<h2>Schemas</h2>";
  for (const [name, s] of Object.entries(doc.components.schemas)) html += schemaTable(name, s);
  document.getElementById("app").innerHTML = html;
}).catch((e) => { document.getElementById("app").textContent = "Could not load openapi.json: " + e; });
