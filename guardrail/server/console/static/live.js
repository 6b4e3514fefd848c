// The live view: follows /console/api/events (server-sent events) and filters the rows.
// Plain DOM: every value goes in with textContent, never as HTML.
"use strict";
(function () {
  const table = document.getElementById("live");
  const rows = document.getElementById("rows");
  const status = document.getElementById("status");
  const kept = document.getElementById("kept");
  const filters = {
    tenant: document.getElementById("f-tenant"),
    stage: document.getElementById("f-stage"),
    action: document.getElementById("f-action"),
    rule: document.getElementById("f-rule"),
  };
  const MAX_ROWS = 1000; // the page keeps at most this many rows
  let last = Number(table.dataset.last) || 0;

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  function stamp(at) {
    const d = new Date(at * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + "Z";
  }

  function row(s) {
    const tr = document.createElement("tr");
    tr.dataset.id = s.id;
    tr.dataset.tenant = s.tenant;
    tr.dataset.stage = s.stage;
    tr.dataset.action = s.action;
    tr.dataset.rules = s.rules.concat(s.shadow_rules).join(" ");
    cell(tr, stamp(s.at));
    cell(tr, s.tenant || "—");
    cell(tr, s.policy);
    cell(tr, s.stage);
    const action = cell(tr, "");
    const badge = document.createElement("span");
    badge.className = "action action-" + s.action;
    badge.textContent = s.action;
    action.appendChild(badge);
    if (s.block_code) action.append(" " + s.block_code);
    let fired = s.rules.join(", ");
    if (s.shadow_rules.length) fired += " (shadow: " + s.shadow_rules.join(", ") + ")";
    cell(tr, fired);
    cell(tr, Object.entries(s.scores).map(([r, v]) => r + " " + v.toFixed(2)).join(", "));
    cell(tr, s.guard_ms.toFixed(1), "num");
    if (s.texts === null) {
      const td = cell(tr, "", "text");
      const none = document.createElement("span");
      none.className = "none";
      none.textContent = "not logged";
      td.appendChild(none);
    } else {
      cell(tr, s.texts.join(" ⏐ "), "text");
    }
    return tr;
  }

  function shown(tr) {
    const f = filters;
    if (f.tenant.value && tr.dataset.tenant !== f.tenant.value) return false;
    if (f.stage.value && tr.dataset.stage !== f.stage.value) return false;
    if (f.action.value && tr.dataset.action !== f.action.value) return false;
    const rule = f.rule.value.trim();
    return !rule || tr.dataset.rules.includes(rule);
  }

  function refilter() {
    for (const tr of rows.rows) tr.hidden = !shown(tr);
  }

  for (const el of Object.values(filters)) {
    el.addEventListener("input", refilter);
    el.addEventListener("change", refilter);
  }
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());

  const source = new EventSource("/console/api/events?after=" + last);
  source.addEventListener("open", () => { status.textContent = "Live: following new decisions."; });
  source.addEventListener("error", () => { status.textContent = "Disconnected; retrying…"; });
  source.addEventListener("decision", (event) => {
    const s = JSON.parse(event.data);
    if (s.id <= last) return;
    last = s.id;
    const tr = row(s);
    tr.hidden = !shown(tr);
    rows.insertBefore(tr, rows.firstChild);
    while (rows.rows.length > MAX_ROWS) rows.deleteRow(rows.rows.length - 1);
    kept.textContent = String(rows.rows.length);
  });
  refilter();
})();
