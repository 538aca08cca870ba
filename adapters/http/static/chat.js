/* ModelDesk chat page: plain JavaScript, no build step, no third-party code.
 *
 * How an answer arrives (streaming text + structure):
 *   1. POST /v1/chat/completions with stream: true. Each server-sent event is an OpenAI
 *      chat.completion.chunk; the text deltas are rendered as they arrive.
 *   2. The same stream carries ModelDesk's structured parts (session id, answer id, citations,
 *      tool calls, refusal) -- see `takeStructure` -- so a question is asked once: no second
 *      request that would re-run the tools, spend the key's budget twice or audit twice.
 *   3. When the stream ends, the final Markdown is rendered again with the structure attached:
 *      tier badges and reasons from `predict`/`explain` tool results, citations as buttons that
 *      open the cited passage (GET /v1/documents/{doc_id}), and feedback buttons (POST /v1/feedback).
 *   If the stream cannot be used (an old server, a proxy that buffers), the page falls back to
 *   POST /v1/chat, which returns everything at once.
 *
 * All text from the server is inserted with textContent / createTextNode (never innerHTML), so
 * the answer's Markdown is rendered without ever interpreting HTML in it.
 */
(function () {
  "use strict";

  const KEY_STORAGE = "modeldesk.apiKey";
  const TIER_TOOLS = new Set(["predict", "explain", "what_if", "counterfactual"]);

  const state = {
    key: "",
    sessionId: null,
    modelId: null,
    busy: false,
    turn: 0,
    conversation: 0, // bumped by "New conversation": a late answer then no longer sets the session
    lastCitationButton: null,
  };

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  /* ---------------------------------------------------------------- Markdown (safe, minimal) */

  // Inline: **bold**, __bold__, *italic*, _italic_, `code`, and [n] citation markers.
  const INLINE = /(\*\*[^*\n]+?\*\*|__[^_\n]+?__|`[^`\n]+?`|\*[^*\s][^*\n]*?\*|(?<![\w])_[^_\s][^_\n]*?_(?![\w])|\[\d{1,2}\])/g;

  function renderInline(text, ctx) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      if (match.index > last) frag.append(document.createTextNode(text.slice(last, match.index)));
      const token = match[0];
      if (token.startsWith("**") || token.startsWith("__")) {
        frag.append(el("strong", null, renderInline(token.slice(2, -2), ctx)));
      } else if (token.startsWith("`")) {
        frag.append(el("code", { text: token.slice(1, -1) }));
      } else if (token.startsWith("[")) {
        const n = Number(token.slice(1, -1));
        const citation = ctx && ctx.citations && ctx.citations[n - 1];
        if (citation) {
          frag.append(el("button", {
            type: "button", class: "link cite-ref",
            "aria-label": `Source ${n}: ${citation.title || citation.doc_id}`,
            onclick: (ev) => openPassage(citation, ev.currentTarget),
          }, `[${n}]`));
        } else {
          frag.append(document.createTextNode(token));
        }
      } else {
        frag.append(el("em", null, renderInline(token.slice(1, -1), ctx)));
      }
      last = match.index + token.length;
    }
    if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  // Blocks: paragraphs (blank-line separated), "- "/"* " lists, "1. " lists, "#" headings.
  function renderMarkdown(source, ctx) {
    const root = document.createDocumentFragment();
    const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    let para = [];
    let list = null;
    const flushPara = () => {
      if (!para.length) return;
      const p = el("p");
      para.forEach((line, i) => {
        if (i) p.append(el("br"));
        p.append(renderInline(line, ctx));
      });
      root.append(p);
      para = [];
    };
    const flushList = () => { if (list) { root.append(list.node); list = null; } };
    for (const raw of lines) {
      const line = raw.trimEnd();
      const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      const numbered = /^\s*(\d{1,3})[.)]\s+(.*)$/.exec(line);
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (!line.trim()) { flushPara(); flushList(); continue; }
      if (bullet || numbered) {
        flushPara();
        const kind = bullet ? "ul" : "ol";
        if (!list || list.kind !== kind) {
          flushList();
          list = { kind, node: el(kind) };
          if (numbered && numbered[1] !== "1") list.node.setAttribute("start", numbered[1]);
        }
        list.node.append(el("li", null, renderInline(bullet ? bullet[1] : numbered[2], ctx)));
        continue;
      }
      if (heading) {
        flushPara(); flushList();
        root.append(el("p", null, el("strong", null, renderInline(heading[2], ctx))));
        continue;
      }
      flushList();
      para.push(line);
    }
    flushPara(); flushList();
    return root;
  }

  /* ---------------------------------------------------------------- API */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function headers(json) {
    const h = { Accept: json ? "application/json" : "text/event-stream", "Content-Type": "application/json" };
    const bearer = await credential();
    if (bearer) h.Authorization = "Bearer " + bearer;
    return h;
  }

  // fetch with the caller's credential. A token the server refuses (expired early, revoked) is
  // replaced once by a fresh one and the request sent again: a 401 means nothing ran.
  async function authedFetch(path, init, json, extra) {
    const send = async () => fetch(path, { ...init, headers: { ...(await headers(json)), ...(extra || {}) } });
    let response = await send();
    if (response.status === 401 && auth.mode !== "key" && auth.token) {
      dropToken();
      response = await send();
    }
    return response;
  }

  async function errorFrom(response) {
    let code = "http_" + response.status;
    let message = response.statusText || "request failed";
    try {
      const body = await response.json();
      const err = body && (body.error || body);
      if (err && typeof err === "object") {
        code = err.code || code;
        message = err.message || (typeof err.detail === "string" ? err.detail : message);
      }
    } catch (_) { /* not JSON */ }
    if (response.status === 401) message = UNAUTHORIZED[auth.mode];
    if (response.status === 429) message = "Too many questions in a short time. " + message;
    return new ApiError(response.status, code, message);
  }

  async function postJSON(path, body) {
    const response = await authedFetch(path, { method: "POST", body: JSON.stringify(body) }, true);
    if (!response.ok) throw await errorFrom(response);
    return response.status === 204 ? {} : response.json();
  }

  async function getJSON(path) {
    const response = await authedFetch(path, {}, true);
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }

  // Parse a text/event-stream body, calling onEvent(data) for every `data:` event.
  async function readSSE(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const dispatch = (block) => {
      const data = block.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (data) onEvent(data);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer);
  }

  // ModelDesk's structured parts: the `modeldesk` extension key of the last chunk (or of a
  // non-streamed completion) holds the native /v1/chat body plus `answer_id`.
  function takeStructure(chunk, into) {
    const ext = chunk.modeldesk;
    if (!ext || typeof ext !== "object") return into;
    for (const field of ["session_id", "answer_id", "citations", "tool_calls", "refused", "refusal"]) {
      if (ext[field] !== undefined && ext[field] !== null) into[field] = ext[field];
    }
    into.structured = true;
    return into;
  }

  async function askStreaming(question, onText) {
    const body = {
      model: state.modelId || "modeldesk",
      messages: [{ role: "user", content: question }],
      stream: true,
    };
    const extra = state.sessionId ? { "X-Session-Id": state.sessionId } : {}; // the conversation continues server-side
    const response = await authedFetch("v1/chat/completions", { method: "POST", body: JSON.stringify(body) }, false, extra);
    if (!response.ok) throw await errorFrom(response);
    const type = response.headers.get("content-type") || "";
    const result = { answer: "", id: null, session_id: response.headers.get("X-Session-Id") || null };
    if (!type.includes("text/event-stream") || !response.body) {
      const full = await response.json(); // a server that answered without streaming
      result.answer = (full.choices && full.choices[0] && full.choices[0].message && full.choices[0].message.content) || "";
      result.id = full.id || null;
      takeStructure(full, result);
      onText(result.answer);
      return result;
    }
    await readSSE(response, (data) => {
      if (data.trim() === "[DONE]") return;
      let chunk;
      try { chunk = JSON.parse(data); } catch (_) { return; }
      if (chunk.error) throw new ApiError(500, chunk.error.code || "stream_error", chunk.error.message || "the answer stopped");
      result.id = result.id || chunk.id || null;
      const choice = chunk.choices && chunk.choices[0];
      const delta = choice && choice.delta && choice.delta.content;
      if (delta) {
        result.answer += delta;
        onText(result.answer);
      }
      takeStructure(chunk, result);
    });
    // The final text is the native answer when the structure arrived (identical by construction).
    if (!result.answer_id && result.id) result.answer_id = result.id; // "chatcmpl-<answer id>" is accepted too
    return result;
  }

  async function askPlain(question) {
    const body = { message: question, session_id: state.sessionId, model_id: state.modelId };
    return postJSON("v1/chat", body);
  }

  /* ---------------------------------------------------------------- rendering an answer */

  function tierClass(rank, count) {
    if (!rank || !count || count < 2) return "tier-mid";
    if (rank <= 1) return "tier-low";
    if (rank >= count) return "tier-high";
    return "tier-mid";
  }
  const TIER_ICON = { "tier-low": "\u25CF", "tier-mid": "\u25B2", "tier-high": "\u25A0" };

  // Predictions stated by the tool calls: one per (model, record), with its reasons when explained.
  function predictionsOf(toolCalls) {
    const found = new Map();
    for (const call of toolCalls || []) {
      if (!TIER_TOOLS.has(call.name) || !call.result || typeof call.result !== "object") continue;
      const r = call.result;
      const candidates = [];
      if (r.tier) candidates.push(r);
      else if (r.prediction && r.prediction.tier) candidates.push(r.prediction);
      else if (r.after && r.after.tier) candidates.push(r.after);
      for (const p of candidates) {
        const key = `${p.model_id || r.model_id || ""}|${p.record_id || r.record_id || ""}|${call.name === "what_if" ? "what_if" : ""}`;
        const entry = found.get(key) || { prediction: p, reasons: [], whatIf: call.name === "what_if" };
        if (Array.isArray(r.reasons) && r.reasons.length) entry.reasons = r.reasons;
        found.set(key, entry);
      }
    }
    return [...found.values()];
  }

  function rankWords(rank, count) {
    if (!rank || !count) return "";
    if (rank <= 1) return `lowest of ${count} tiers`;
    if (rank >= count) return `highest of ${count} tiers`;
    return `tier ${rank} of ${count}, 1 = lowest`;
  }

  const said = (text, sentence) => {
    const norm = (x) => String(x || "").toLowerCase().replace(/[*_`]/g, "").replace(/\s+/g, " ").replace(/[.\s]+$/, "").trim();
    return Boolean(sentence) && norm(text).includes(norm(sentence));
  };

  // The tier badge always; meaning, action and reasons only when the answer text does not already
  // state them (the deterministic writer does; a model-phrased answer may summarise).
  function tierCard({ prediction: p, reasons, whatIf }, text) {
    const cls = tierClass(p.tier_rank, p.tier_count);
    const rank = rankWords(p.tier_rank, p.tier_count);
    // The tier is told in words (name and rank); the colour and the icon only repeat it.
    const badge = el("span", { class: `tier-badge ${cls}` },
      el("span", { class: "tier-icon", "aria-hidden": "true" }, TIER_ICON[cls]),
      el("span", { class: "tier-name" }, `${p.tier}`),
      rank ? el("span", { class: "tier-rank" }, `(${rank})`) : null);
    const subject = [p.entity || "record", p.record_id].filter(Boolean).join(" ");
    const card = el("section", { class: "tier-card", "data-tier": p.tier, "aria-label": `Risk tier for ${subject}` },
      el("div", { class: "tier-head" },
        el("span", null, whatIf ? "What-if tier:" : "Risk tier:"), badge,
        el("span", { class: "tier-subject" }, [subject, p.model_id].filter(Boolean).join(" \u00B7 "))));
    if (p.meaning && !said(text, p.meaning)) card.append(el("p", { class: "tier-meaning" }, p.meaning));
    if (p.action && !said(text, p.action)) card.append(el("p", { class: "tier-action" }, el("strong", null, "Recommended action: "), p.action));
    if (reasons && reasons.length && !reasons.every((r) => said(text, r.text))) {
      card.append(el("h3", { class: "reasons-title" }, "Main reasons"));
      const list = el("ol", { class: "reasons" });
      for (const reason of reasons) {
        const dir = reason.direction === "raised" ? "raised" : reason.direction === "lowered" ? "lowered" : "";
        list.append(el("li", { class: dir ? `reason-${dir}` : null },
          dir ? el("span", { class: "reason-dir", "aria-hidden": "true" }, dir === "raised" ? "\u2191 " : "\u2193 ") : null,
          reason.text || `${reason.label || reason.feature}: ${reason.display || reason.value}`));
      }
      card.append(list);
    }
    return card;
  }

  function sourcesBlock(citations) {
    const list = el("ol");
    citations.forEach((c, i) => {
      list.append(el("li", null,
        el("button", { type: "button", class: "link citation", "data-doc-id": c.doc_id,
          "aria-haspopup": "dialog", onclick: (ev) => openPassage(c, ev.currentTarget) },
          c.title || c.doc_id),
        c.doc_type ? el("span", { class: "doc-type" }, ` \u2014 ${c.doc_type.replace(/_/g, " ")}`) : null));
    });
    const id = `sources-${state.turn}`;
    return el("section", { class: "sources", "aria-labelledby": id },
      el("h3", { class: "sources-title", id }, "Sources"), list);
  }

  const SVG = "http://www.w3.org/2000/svg";
  function thumbIcon(down) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 7.9 6 8.4 6 9v10c0 1.1.9 2 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
    svg.append(path);
    if (down) svg.classList.add("flip");
    return svg;
  }

  function feedbackBlock(info) {
    const status = el("span", { class: "feedback-status", role: "status" });
    const group = el("div", { class: "feedback", role: "group", "aria-label": "Feedback on this answer" });
    let rating = null;
    let comment = null;
    const send = async (extra) => {
      const body = { rating, comment: extra || null };
      if (info.answer_id) body.answer_id = info.answer_id;
      else body.session_id = info.session_id; // the latest answer in the session
      try {
        status.textContent = "Sending\u2026";
        await postJSON("v1/feedback", body);
        status.textContent = extra ? "Thanks, your comment was sent." : "Thanks for your feedback.";
        group.dataset.sent = rating;
        return true;
      } catch (err) {
        status.textContent = "Feedback not sent: " + err.message;
        return false;
      }
    };
    const thumb = (value, label) => el("button", {
      type: "button", class: "thumb", "aria-pressed": "false",
      "data-rating": value,
      onclick: async (ev) => {
        const pressed = ev.currentTarget;
        if (group.dataset.sending || pressed.getAttribute("aria-pressed") === "true") return;
        rating = value;
        for (const b of group.querySelectorAll("button.thumb")) b.setAttribute("aria-pressed", String(b === pressed));
        group.dataset.sending = "1";
        const ok = await send(null);
        delete group.dataset.sending;
        if (ok && !comment) {
          const inputId = `feedback-comment-${info.turn}`;
          const input = el("input", { id: inputId, type: "text", maxlength: 1000 });
          comment = el("form", { class: "feedback-comment", onsubmit: async (e) => {
            e.preventDefault();
            if (!input.value.trim()) return;
            if (await send(input.value.trim())) {
              comment.hidden = true;
              const current = group.querySelector("button.thumb[aria-pressed=true]");
              if (current) current.focus();
            }
          } },
            el("label", { for: inputId }, "Add a comment (optional)"), input,
            el("button", { type: "submit", class: "secondary" }, "Send comment"));
          group.append(comment);
        }
      },
    }, thumbIcon(value === "down"), el("span", null, label));
    group.append(el("span", { class: "feedback-label" }, "Was this helpful?"),
      thumb("up", "Helpful"), thumb("down", "Not helpful"), status);
    return group;
  }

  function finishAnswer(item, body, info) {
    const citations = Array.isArray(info.citations) ? info.citations : [];
    body.replaceChildren(renderMarkdown(info.answer, { citations }));
    body.removeAttribute("aria-busy");
    item.removeAttribute("aria-busy");
    if (info.refused) {
      item.classList.add("msg-refused");
      if (info.refusal && info.refusal.reason && !String(info.answer).includes(info.refusal.reason)) {
        item.append(el("p", { class: "refusal" }, el("strong", null, "Not answered: "), info.refusal.reason));
      }
    }
    const cards = predictionsOf(info.tool_calls).map((prediction) => tierCard(prediction, info.answer));
    body.before(...cards); // the tier is the headline of the answer
    if (citations.length) item.append(sourcesBlock(citations));
    if (info.answer_id || info.session_id) item.append(feedbackBlock(info));
  }

  /* ---------------------------------------------------------------- the passage dialog */

  function passageUrl(citation) {
    const path = String(citation.doc_id).split("/").map(encodeURIComponent).join("/");
    const q = citation.snippet ? "?q=" + encodeURIComponent(String(citation.snippet).slice(0, 900)) : "";
    return "v1/documents/" + path + q;
  }

  function paragraphs(text) {
    const frag = document.createDocumentFragment();
    for (const part of String(text).split(/\n{2,}/)) if (part.trim()) frag.append(renderMarkdown(part, null));
    return frag;
  }

  async function openPassage(citation, opener) {
    const dialog = $("passage");
    state.lastCitationButton = opener || null;
    $("passage-title").textContent = citation.title || citation.doc_id;
    $("passage-meta").textContent = [citation.doc_type, citation.doc_id].filter(Boolean).join(" \u00B7 ");
    const body = $("passage-body");
    body.setAttribute("aria-busy", "true");
    body.replaceChildren(el("p", { class: "meta" }, "Loading the passage\u2026"));
    if (!dialog.open) dialog.showModal();
    $("passage-close").focus();
    try {
      // The document's passages, the one matching the citation's snippet first.
      const doc = await getJSON(passageUrl(citation));
      $("passage-title").textContent = doc.title || citation.title || citation.doc_id;
      $("passage-meta").textContent = [(doc.doc_type || citation.doc_type || "").replace(/_/g, " "), doc.model_id,
        doc.date, doc.doc_id || citation.doc_id].filter(Boolean).join(" \u00B7 ");
      const section = (p) => (p.section && p.section !== doc.title ? el("p", { class: "passage-section" }, p.section) : null);
      const cited = doc.passage || (doc.passages && doc.passages[0]) || { section: "", text: citation.snippet || "" };
      const parts = [];
      if (doc.flagged) {
        parts.push(el("p", { class: "meta" }, "This document contained text addressed to an AI; it is shown as quoted data only."));
      }
      parts.push(el("blockquote", { class: "cited-passage", "aria-label": "Cited passage" }, section(cited), paragraphs(cited.text || "")));
      const rest = (doc.passages || []).filter((p) => p !== cited && !(p.text === cited.text && p.section === cited.section));
      if (rest.length) {
        const more = el("details", { class: "more-passages" }, el("summary", null, `More from this document (${rest.length})`));
        for (const p of rest) more.append(section(p), paragraphs(p.text || ""));
        parts.push(more);
      }
      body.replaceChildren(...parts.filter(Boolean));
    } catch (err) {
      body.replaceChildren(
        el("p", null, citation.snippet || ""),
        el("p", { class: "meta" }, `The full passage could not be opened: ${err.message}`));
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  function setupDialog() {
    const dialog = $("passage");
    $("passage-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); }); // backdrop
    dialog.addEventListener("close", () => {
      if (state.lastCitationButton && document.contains(state.lastCitationButton)) state.lastCitationButton.focus();
    });
  }

  /* ---------------------------------------------------------------- conversation */

  function announce(text) {
    const status = $("status");
    status.textContent = "";
    setTimeout(() => { status.textContent = text; }, 50);
  }

  function addMessage(kind, children) {
    const item = el("li", { class: `msg msg-${kind}` },
      el("p", { class: "msg-who" }, kind === "user" ? "You" : "ModelDesk"), children);
    $("transcript").append(item);
    $("empty").hidden = true;
    item.scrollIntoView({ block: "end", behavior: "auto" });
    return item;
  }

  async function ask(question) {
    if (state.busy) return;
    question = question.trim();
    if (!question) return;
    if (auth.mode === "key" && !state.key) {
      openSettings("Enter your API key first.");
      return;
    }
    if (auth.mode === "sso" && !auth.token && !auth.refreshToken) {
      announce("Sign in first.");
      $("sign-in").focus();
      return;
    }
    state.busy = true;
    state.turn += 1;
    const conversation = state.conversation;
    $("send").disabled = true;
    addMessage("user", el("div", null, question));
    const body = el("div", { class: "answer", "aria-busy": "true" });
    const item = addMessage("assistant", body);
    item.setAttribute("aria-busy", "true");
    item.dataset.turn = String(state.turn);
    let pending = null;
    let keyProblem = false;
    const renderStreaming = (text) => {
      if (pending) return;
      pending = requestAnimationFrame(() => {
        pending = null;
        body.replaceChildren(renderMarkdown(text, null));
        item.scrollIntoView({ block: "end" });
      });
    };
    try {
      let info;
      try {
        info = await askStreaming(question, renderStreaming);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status === 404 || err.status === 405) info = await askPlain(question);
        else throw err;
      }
      if (pending) { cancelAnimationFrame(pending); pending = null; }
      info.turn = Number(item.dataset.turn);
      if (info.session_id && conversation === state.conversation) state.sessionId = info.session_id;
      finishAnswer(item, body, info);
      item.dataset.done = "true";
      announce(info.refused ? "ModelDesk declined the question." : "ModelDesk answered.");
    } catch (err) {
      if (pending) { cancelAnimationFrame(pending); pending = null; }
      item.classList.add("msg-error");
      item.removeAttribute("aria-busy");
      body.removeAttribute("aria-busy");
      body.replaceChildren(el("p", null, err.message || "Something went wrong."));
      item.dataset.done = "error";
      announce("The question could not be answered: " + (err.message || "error"));
      keyProblem = err.status === 401 && auth.mode === "key";
      if (err.status === 401 && auth.mode === "sso") showSignedIn(false);
    } finally {
      state.busy = false;
      $("send").disabled = false;
      if (keyProblem) openSettings();
      else $("question").focus();
    }
  }

  /* ---------------------------------------------------------------- credentials */

  // Three ways to be someone:
  //   key    an API key typed here or passed in the URL fragment (demos, service accounts);
  //   portal in the embed with data-token-provider: the portal page hands over a sign-in token
  //          (a JWT from the company's identity provider) whenever the chat asks for one;
  //   sso    the page at / signs in itself (OpenID Connect authorization code with PKCE) when the
  //          server has MODELDESK_OIDC_CLIENT_ID.
  // Tokens are replaced REFRESH_BEFORE seconds before they expire, so none is sent about to lapse.
  const REFRESH_BEFORE = 60;
  const TOKEN_STORAGE = "modeldesk.signIn"; // sessionStorage: this tab only
  const PKCE_STORAGE = "modeldesk.pkce";
  const auth = { mode: "key", token: "", expires: 0, refreshToken: "", pending: null, config: null };
  const UNAUTHORIZED = {
    key: "The API key is missing or not valid. Enter your key under \u201cAPI key\u201d.",
    portal: "Your sign-in was not accepted. Reload the page to sign in again.",
    sso: "Your sign-in has expired or was not accepted. Sign in again.",
  };

  function claimsOf(token) { // read only to know when it expires and for whom; the server verifies it
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch (_) { return {}; }
  }

  function setToken(token) {
    auth.token = token;
    const exp = claimsOf(token).exp;
    auth.expires = typeof exp === "number" ? exp : 0;
  }

  function dropToken() {
    auth.token = "";
    auth.expires = 0;
  }

  function tokenIsFresh() {
    return !!auth.token && (auth.expires === 0 || auth.expires - Date.now() / 1000 > REFRESH_BEFORE);
  }

  async function credential() {
    if (auth.mode === "key") return state.key;
    if (tokenIsFresh()) return auth.token;
    return auth.mode === "portal" ? portalToken() : refreshSignIn();
  }

  let tokenRequests = 0;
  // Ask the embedding page for a token (embed.js answers with its data-token-provider function).
  function portalToken() {
    if (auth.pending) return auth.pending;
    const id = `t${++tokenRequests}-${Math.random().toString(36).slice(2)}`;
    auth.pending = new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        auth.pending = null;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new ApiError(401, "no_token", "The portal did not supply a sign-in token. Reload the page."));
      }, 15000);
      function onMessage(ev) {
        const data = ev.data;
        if (ev.source !== window.parent || !data || data.type !== "modeldesk:token" || data.id !== id) return;
        finish();
        if (typeof data.token === "string" && data.token) {
          setToken(data.token);
          resolve(data.token);
        } else {
          reject(new ApiError(401, "no_token", "The portal could not supply a sign-in token" +
            (data.error ? ": " + data.error : ".")));
        }
      }
      window.addEventListener("message", onMessage);
      window.parent.postMessage({ type: "modeldesk:token-request", id }, "*"); // carries no secret
    });
    return auth.pending;
  }

  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const randomText = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
  const redirectUri = () => location.origin + location.pathname;

  async function loadSignInConfig() {
    try {
      const response = await fetch("auth/config", { headers: { Accept: "application/json" } });
      const config = await response.json();
      if (!response.ok) announce("Sign-in is unavailable: " + ((config.error && config.error.message) || response.status));
      return response.ok && config.sign_in ? config : null;
    } catch (_) { return null; }
  }

  async function signIn() {
    const config = auth.config;
    const verifier = randomText(32);
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const st = randomText(16);
    const back = new URLSearchParams(location.search);
    sessionStorage.setItem(PKCE_STORAGE, JSON.stringify({ verifier, state: st, back: back.toString() }));
    const query = new URLSearchParams({
      response_type: "code", client_id: config.client_id, redirect_uri: redirectUri(), scope: config.scopes,
      state: st, nonce: randomText(16), code_challenge: challenge, code_challenge_method: "S256",
    });
    const sep = config.authorization_endpoint.includes("?") ? "&" : "?";
    location.assign(config.authorization_endpoint + sep + query.toString());
  }

  function signOut() {
    dropToken();
    auth.refreshToken = "";
    try { sessionStorage.removeItem(TOKEN_STORAGE); } catch (_) { /* storage disabled */ }
    showSignedIn(false);
    announce("Signed out.");
  }

  async function tokenRequest(form) {
    const response = await fetch(auth.config.token_endpoint, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form),
    });
    let body = {};
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      throw new ApiError(401, "sign_in_failed", "The identity provider refused the sign-in" +
        (body.error_description || body.error ? ": " + (body.error_description || body.error) : "") + ". Sign in again.");
    }
    // The token meant for this service: the one whose audience is ours (an access token, or the ID token).
    const candidates = [body.access_token, body.id_token].filter((t) => typeof t === "string" && t.split(".").length === 3);
    const ours = candidates.find((t) => [].concat(claimsOf(t).aud || []).includes(auth.config.audience));
    const token = ours || candidates[0];
    if (!token) throw new ApiError(401, "sign_in_failed", "The identity provider sent no usable token. Sign in again.");
    setToken(token);
    auth.refreshToken = body.refresh_token || auth.refreshToken;
    try {
      sessionStorage.setItem(TOKEN_STORAGE, JSON.stringify({ token, refresh: auth.refreshToken }));
    } catch (_) { /* storage disabled: signed in for this page only */ }
    showSignedIn(true);
    return token;
  }

  async function finishSignIn(params) {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(PKCE_STORAGE) || "null"); } catch (_) { /* none */ }
    sessionStorage.removeItem(PKCE_STORAGE);
    const back = saved && saved.back ? "?" + saved.back : "";
    history.replaceState(null, "", location.pathname + back); // the code leaves the address bar
    if (params.get("error")) throw new ApiError(401, "sign_in_failed", "Sign-in did not complete: " + params.get("error"));
    if (!saved || saved.state !== params.get("state")) {
      throw new ApiError(401, "sign_in_failed", "Sign-in did not complete (it was not started here). Sign in again.");
    }
    return tokenRequest({ grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
                          client_id: auth.config.client_id, code_verifier: saved.verifier });
  }

  async function refreshSignIn() {
    if (!auth.refreshToken) {
      dropToken();
      showSignedIn(false);
      throw new ApiError(401, "signed_out", UNAUTHORIZED.sso);
    }
    if (!auth.pending) {
      auth.pending = tokenRequest({ grant_type: "refresh_token", refresh_token: auth.refreshToken,
                                    client_id: auth.config.client_id })
        .catch((err) => { auth.refreshToken = ""; showSignedIn(false); throw err; })
        .finally(() => { auth.pending = null; });
    }
    return auth.pending;
  }

  function showSignedIn(signedIn) {
    const button = $("sign-in");
    button.hidden = false;
    button.textContent = signedIn ? "Sign out" : "Sign in";
    button.dataset.signedIn = String(signedIn);
    const who = claimsOf(auth.token);
    $("signed-in-as").textContent = signedIn ? "Signed in" + (who.email || who.preferred_username || who.name
      ? " as " + (who.email || who.preferred_username || who.name) : "") : "";
  }

  // Decide how this page authenticates: a key in the URL wins (demos), then the portal's tokens in
  // the embed, then signing in when the server offers it; otherwise an API key as before.
  async function setupAuth(framed, keyFromUrl) {
    const params = new URLSearchParams(location.search);
    if (framed && params.get("auth") === "portal" && !keyFromUrl) {
      auth.mode = "portal";
      $("settings-toggle").hidden = true;
      return;
    }
    if (framed || keyFromUrl) return;
    const config = await loadSignInConfig();
    if (!config) return;
    auth.config = config;
    $("sign-in").addEventListener("click", () => {
      if ($("sign-in").dataset.signedIn === "true") signOut();
      else signIn().catch((err) => announce(err.message));
    });
    if (params.get("code") || params.get("error")) {
      auth.mode = "sso";
      $("settings").hidden = true;
      await finishSignIn(params);
      return;
    }
    let stored = null;
    try { stored = JSON.parse(sessionStorage.getItem(TOKEN_STORAGE) || "null"); } catch (_) { /* none */ }
    if (stored && stored.token) {
      auth.mode = "sso";
      setToken(stored.token);
      auth.refreshToken = stored.refresh || "";
      showSignedIn(true);
      return;
    }
    if (state.key) return; // a key remembered on this device keeps working
    auth.mode = "sso";
    showSignedIn(false);
  }

  /* ---------------------------------------------------------------- key and settings */

  function openSettings(message) {
    $("settings").hidden = false;
    $("settings-toggle").setAttribute("aria-expanded", "true");
    if (message) announce(message);
    $("api-key").focus();
  }

  // In a frame (the embed), only the key the embedding page passed is used: a key remembered on this
  // device never lends itself to whatever page frames the chat.
  function readKey(framed) {
    const params = new URLSearchParams(location.search);
    const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
    const fromUrl = params.get("key") || hash.get("key");
    if (fromUrl) {
      // Keep the key out of the address bar, history and bookmarks once read.
      params.delete("key"); hash.delete("key");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + (hash.toString() ? "#" + hash : ""));
      state.keyFromUrl = true;
      return fromUrl;
    }
    if (framed) return "";
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch (_) { return ""; }
  }

  function setupSettings(framed) {
    state.key = readKey(framed);
    if (framed) {
      $("remember-key").checked = false;
      $("remember-key").closest("label").hidden = true;
    }
    $("api-key").value = state.key;
    $("settings-toggle").addEventListener("click", () => {
      const open = $("settings").hidden;
      $("settings").hidden = !open;
      $("settings-toggle").setAttribute("aria-expanded", String(open));
      if (open) $("api-key").focus();
    });
    $("settings-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      state.key = $("api-key").value.trim();
      try {
        if (!framed) {
          if ($("remember-key").checked && state.key) localStorage.setItem(KEY_STORAGE, state.key);
          else localStorage.removeItem(KEY_STORAGE);
        }
      } catch (_) { /* storage disabled */ }
      $("settings").hidden = true;
      $("settings-toggle").setAttribute("aria-expanded", "false");
      announce(state.key ? "Key saved." : "Key cleared.");
      $("question").focus();
    });
  }

  /* ---------------------------------------------------------------- start */

  function start() {
    const params = new URLSearchParams(location.search);
    state.modelId = params.get("model") || null;
    const framed = window.parent !== window;
    const embedded = params.get("embed") === "1" || framed;
    if (embedded) {
      document.body.classList.add("embedded");
      const close = $("embed-close");
      close.hidden = false;
      close.addEventListener("click", () => window.parent.postMessage({ type: "modeldesk:close" }, "*"));
      document.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape" && !$("passage").open) window.parent.postMessage({ type: "modeldesk:close" }, "*");
      });
    }
    setupSettings(framed);
    setupDialog();
    const question = $("question");
    $("ask").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = question.value;
      if (!text.trim() || state.busy) return;
      question.value = "";
      ask(text);
    });
    question.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        $("ask").requestSubmit();
      }
    });
    for (const button of document.querySelectorAll(".suggestion")) {
      button.addEventListener("click", () => ask(button.textContent));
    }
    $("new-chat").addEventListener("click", () => {
      state.sessionId = null;
      state.conversation += 1;
      $("transcript").replaceChildren();
      $("empty").hidden = false;
      announce("New conversation started.");
      question.focus();
    });
    const keyFromUrl = state.keyFromUrl;
    setupAuth(framed, keyFromUrl).then(() => {
      if (auth.mode === "key" && !state.key) openSettings("Enter your API key to start.");
      else if (auth.mode === "sso" && !auth.token) {
        announce("Sign in to start.");
        $("sign-in").focus();
      } else question.focus();
    }, (err) => {
      announce(err.message || "Sign-in did not complete.");
      showSignedIn(false);
      $("sign-in").focus();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
