// ModelDesk posture dashboard: fetches GET /v1/dashboard with the caller's key and renders it.
// Plain JavaScript, no build step, nothing from a CDN. Text is set with textContent; the charts are
// SVG drawn by the server (its own markup, labels escaped) and parsed as SVG, never as HTML.
(function () {
  "use strict";
  const KEY_STORAGE = "modeldesk.apiKey";
  const GRADE_ICON = { "Good": "✓", "Watch": "!", "At risk": "✕" };
  const state = { key: "" };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(markup) {
    const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    const root = doc.documentElement;
    if (root.nodeName !== "svg") return el("p", {}, "The chart could not be drawn.");
    root.querySelectorAll("script, foreignObject").forEach((n) => n.remove());
    return document.importNode(root, true);
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(x < 0.1 ? 1 : 0) + "%"; }
  function slug(grade) { return "grade-" + grade.toLowerCase().replace(/\s+/g, "-"); }

  function table(caption, headers, rows) {
    const t = el("table", {}, el("caption", { class: "visually-hidden" }, caption));
    t.append(el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))));
    const body = el("tbody");
    for (const row of rows) body.append(el("tr", {}, ...row.map((c) => el("td", {}, c))));
    t.append(body);
    return t;
  }

  function grade(g) {
    return el("span", { class: "grade " + slug(g), "data-grade": g },
      el("span", { "aria-hidden": "true" }, GRADE_ICON[g] || "?"), "Posture: " + g);
  }

  function modelCard(m) {
    const card = el("article", { class: "model", "data-model": m.model_id, "aria-labelledby": "m-" + m.model_id });
    card.append(el("h3", { id: "m-" + m.model_id }, m.name + " (" + m.model_id + ")", grade(m.grade)));
    card.append(el("p", { class: "headline" }, m.headline));
    const reasons = el("ul", { class: "reasons" });
    for (const r of m.reasons) reasons.append(el("li", {}, r));
    card.append(el("h4", {}, "Why this grade"), reasons);

    const facts = el("ul", { class: "facts" });
    const d = m.drift;
    facts.append(el("li", {}, "Input drift: ", el("strong", {}, !d ? "not measured" : !d.judged
      ? "not judged (" + d.rows + " of the inputs needed)" : d.drifting.length ? "drifting on " + d.drifting.join(", ") : "stable")));
    const u = m.unusual_inputs;
    facts.append(el("li", { "data-fact": "unusual" }, "Unusual inputs: ",
      el("strong", {}, u && u.rows ? pct(u.share) + " of " + u.rows + " (about " + pct(u.expected_share) + " expected)" : "no recent inputs")));
    facts.append(el("li", { "data-fact": "alerts" }, "Probing alerts: ",
      el("strong", {}, m.alerts_last_day + " in the last day, " + m.alerts_week + " in 7 days")));
    facts.append(el("li", {}, "Retraining: ", el("strong", {}, m.retraining && m.retraining.due
      ? "recommended — " + m.retraining.reasons.join("; ") : "not due")));
    facts.append(el("li", { "data-fact": "feedback" }, "Feedback: ",
      el("strong", {}, m.feedback.helpful + " helpful, " + m.feedback.not_helpful + " not helpful")));
    card.append(facts);

    card.append(el("h4", {}, "Drift per input over time"));
    card.append(el("div", { class: "chart-box" }, svg(m.charts.drift_history)));
    if (m.history.length) {
      const names = [...new Set(m.history.flatMap((h) => Object.keys(h.psi)))];
      const rows = m.history.map((h) => [h.at.replace("T", " ").replace("+00:00", " UTC"), h.source, h.grade || "—",
        String(h.rows), pct(h.unusual_share), names.map((n) => n + " " + (h.psi[n] ?? 0).toFixed(2)).join(", ")]);
      card.append(el("details", {}, el("summary", {}, "Drift history as a table"),
        table("Drift history of " + m.model_id, ["time", "source", "grade", "inputs", "unusual", "PSI per input"], rows)));
    }

    card.append(el("h4", {}, "Incidents"));
    if (m.incidents_by_status.length) {
      card.append(table("Incidents by status", ["status", "incidents"], m.incidents_by_status.map((c) => [c.key, String(c.count)])));
    } else {
      card.append(el("p", {}, "No incidents on record."));
    }
    if (m.incidents_by_technique.length) {
      card.append(table("Incidents by MITRE ATLAS technique", ["ATLAS technique", "incidents"],
        m.incidents_by_technique.map((c) => [c.key, String(c.count)])));
    }
    if (m.open_incidents.length) {
      card.append(table("Open incidents", ["id", "severity", "status", "attack", "title"],
        m.open_incidents.map((i) => [i.id, i.severity || "", i.status || "", (i.attack_type || "").replace(/_/g, " "), i.title])));
    }
    if (m.retraining && m.retraining.history.length) {
      card.append(el("h4", {}, "Retraining triggers"), table("Retraining triggers", ["recorded", "reasons"],
        m.retraining.history.map((t) => [t.at, t.reasons.join("; ")])));
    }
    return card;
  }

  function render(data) {
    const models = $("models");
    models.replaceChildren(...data.models.map(modelCard));
    $("alerts-chart").replaceChildren(svg(data.charts.alerts));
    $("alerts-table").replaceChildren(data.alerts.length
      ? table("Probing alerts", ["time", "principal", "model", "pattern", "level", "detail"],
          data.alerts.map((a) => [a.at, a.principal + (a.role ? " (" + a.role + ")" : ""), a.model_id || "—", a.kind, a.level, a.detail]))
      : el("p", {}, "No probing alerts in the last " + data.alert_days + " days."));
    $("feedback-chart").replaceChildren(svg(data.charts.feedback));
    const fb = data.feedback;
    if (fb && fb.groups.length) {
      $("feedback-groups").replaceChildren(el("h3", {}, "By model and operation"), table("Feedback by model and operation",
        ["model", "operation", "helpful", "not helpful"],
        fb.groups.map((g) => [g.model_id || "(no model)", g.operation, String(g.helpful), String(g.not_helpful)])));
    } else {
      $("feedback-groups").replaceChildren(el("p", {}, "No answers rated in the last 30 days."));
    }
    $("feedback-unhelpful").replaceChildren(...(fb && fb.unhelpful.length ? [el("h3", {}, "Answers rated not helpful"),
      table("Answers rated not helpful", ["rated", "model", "operation", "question", "comment"],
        fb.unhelpful.map((a) => [a.rated_at, a.model_id || "—", a.operation, a.question || "(not in the audit log)", a.comment || ""]))] : []));
    const status = $("status");
    status.className = "status";
    status.textContent = "Posture of " + data.models.length + " models, measured at " +
      data.generated_at.replace("T", " ").replace("+00:00", " UTC") + ".";
    document.body.dataset.loaded = "true";
  }

  async function load() {
    const status = $("status");
    if (!state.key) {
      status.className = "status error";
      status.textContent = "Enter an API key with the security or admin role to see the dashboard.";
      openSettings();
      return;
    }
    status.className = "status";
    status.textContent = "Loading the posture of every model…";
    let response;
    try {
      response = await fetch("v1/dashboard", { headers: { "Authorization": "Bearer " + state.key } });
    } catch (_) {
      status.className = "status error";
      status.textContent = "The ModelDesk service could not be reached.";
      return;
    }
    if (!response.ok) {
      let message = "The dashboard could not be loaded (" + response.status + ").";
      try { message = (await response.json()).error.message; } catch (_) { /* keep the generic message */ }
      status.className = "status error";
      status.textContent = response.status === 401 ? "Your API key was not accepted: " + message : message;
      document.body.dataset.loaded = "error";
      if (response.status === 401 || response.status === 403) openSettings();
      return;
    }
    render(await response.json());
  }

  function openSettings() {
    $("settings").hidden = false;
    $("settings-toggle").setAttribute("aria-expanded", "true");
  }

  function readKey() {
    const params = new URLSearchParams(location.search);
    const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    const given = hash.get("key") || params.get("key");
    if (given) {
      params.delete("key"); hash.delete("key");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + (hash.toString() ? "#" + hash : ""));
      return given;
    }
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch (_) { return ""; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    state.key = readKey();
    $("refresh").addEventListener("click", load);
    $("settings-toggle").addEventListener("click", () => {
      const open = $("settings").hidden;
      $("settings").hidden = !open;
      $("settings-toggle").setAttribute("aria-expanded", String(open));
    });
    $("settings-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.key = $("api-key").value.trim();
      try {
        if ($("remember-key").checked && state.key) localStorage.setItem(KEY_STORAGE, state.key);
        else localStorage.removeItem(KEY_STORAGE);
      } catch (_) { /* storage may be blocked */ }
      load();
    });
    load();
  });
})();
