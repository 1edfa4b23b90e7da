// A small TOML highlighter for the studio editor: one line at a time, enough for policy packs
// (tables, keys, strings, numbers, booleans, dates, times, comments). Multi-line strings are
// tracked across lines. It returns HTML with every character escaped.
"use strict";

const TomlHighlight = (() => {
  const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
  const span = (cls, text) => `<span class="t-${cls}">${escapeHtml(text)}</span>`;
  const VALUE = [
    ["comment", /^#.*/],
    ["string", /^"(?:[^"\\]|\\.)*"?/],
    ["string", /^'[^']*'?/],
    ["date", /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?/],
    ["date", /^\d{2}:\d{2}(?::\d{2})?/],
    ["number", /^[+-]?(?:0x[0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?|inf|nan)\b/],
    ["bool", /^(?:true|false)\b/],
    ["key", /^[A-Za-z0-9_-]+(?=\s*=)/],
    ["punct", /^[[\]{},=.]/],
    ["space", /^\s+/],
    ["other", /^[^\s#"'[\]{},=]+/],
  ];

  function valueTokens(text) {
    let out = "";
    while (text) {
      for (const [cls, re] of VALUE) {
        const m = re.exec(text);
        if (m && m[0]) {
          out += cls === "space" || cls === "punct" ? escapeHtml(m[0]) : span(cls, m[0]);
          text = text.slice(m[0].length);
          break;
        }
      }
    }
    return out;
  }

  function line(text, state) {
    if (state.multi) { // inside a """ or ''' string
      const end = text.indexOf(state.multi);
      if (end < 0) return span("string", text);
      const quote = state.multi;
      state.multi = null;
      return span("string", text.slice(0, end + 3)) + line(text.slice(end + 3), state);
    }
    const table = /^(\s*)(\[\[?[^\]#]*\]\]?)(.*)$/.exec(text);
    if (table) return escapeHtml(table[1]) + span("table", table[2]) + valueTokens(table[3]);
    const multi = /^(.*?=\s*)("""|''')(.*)$/.exec(text);
    if (multi && multi[3].indexOf(multi[2]) < 0) {
      state.multi = multi[2];
      return keyPart(multi[1]) + span("string", multi[2] + multi[3]);
    }
    const pair = /^(\s*)((?:"[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)(?:\s*\.\s*(?:"[^"]*"|[A-Za-z0-9_-]+))*)(\s*=)(.*)$/.exec(text);
    if (pair) return escapeHtml(pair[1]) + span("key", pair[2]) + escapeHtml(pair[3]) + valueTokens(pair[4]);
    return valueTokens(text);
  }

  function keyPart(text) {
    const m = /^(\s*)(.*?)(\s*=\s*)$/.exec(text);
    return m ? escapeHtml(m[1]) + span("key", m[2]) + escapeHtml(m[3]) : escapeHtml(text);
  }

  // The HTML of every line of `source`, one string per line.
  function lines(source) {
    const state = { multi: null };
    return source.split("\n").map((text) => line(text, state));
  }

  return { lines, escapeHtml };
})();
