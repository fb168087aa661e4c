// Shared by every page: the token, JSON calls, the clock, the lead page.
// Plain browser JavaScript, no build step. Customer text only ever goes into
// the page through textContent (never innerHTML).
"use strict";

const Funnel = (() => {
  const KEY = "funnel.token";
  // Server clock minus browser clock; countdowns run on the server's clock.
  let skew = 0;

  function token() { return sessionStorage.getItem(KEY); }

  function status(text, isError) {
    const s = document.getElementById("status");
    if (!s) return;
    s.textContent = text || "";
    s.className = "status" + (isError ? " error" : "");
  }

  function noteNow(serverNow) {
    if (typeof serverNow === "number") skew = serverNow - Date.now();
  }
  function now() { return Date.now() + skew; }

  async function failure(resp) {
    let body = {};
    try { body = await resp.json(); } catch (_) { /* not JSON */ }
    const e = new Error((body.code || resp.status) + ": " + (body.message || resp.statusText));
    e.status = resp.status;
    return e;
  }

  // One JSON call. A network failure (no answer at all) is retried with the
  // very same body: every mutating call carries its fence (request id, lease
  // id, offer id), so the server answers a retry with the recorded result.
  async function call(method, path, body) {
    const init = { method, headers: { Authorization: "Bearer " + token() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    for (let attempt = 1; ; attempt++) {
      let resp;
      try {
        resp = await fetch(path, init);
      } catch (netError) {
        if (attempt >= 3) throw netError;
        await new Promise((r) => setTimeout(r, 300 * attempt));
        continue;
      }
      // A refused token ends the session, except on the sign-in form itself.
      if (resp.status === 401 && !document.getElementById("signin")) { signOut(); throw await failure(resp); }
      if (!resp.ok) throw await failure(resp);
      const json = await resp.json();
      noteNow(json.now);
      return json;
    }
  }

  // Runs `action` for a click; the button stays disabled until it is done.
  function onClick(button, action) {
    button.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      try { await action(); } catch (e) { status(e.message, true); } finally { button.disabled = false; }
    });
  }

  // A fresh id per click (crypto.randomUUID needs a secure context; this does not).
  function requestId() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function left(deadline) {
    const ms = deadline - now();
    const s = Math.max(0, Math.round(ms / 1000));
    const text = ms <= 0 ? "expired" : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") + " left";
    return { text, late: ms < 60000 };
  }

  // Every element with data-deadline shows its countdown, once a second.
  setInterval(() => {
    for (const e of document.querySelectorAll("[data-deadline]")) {
      const l = left(Number(e.dataset.deadline));
      e.textContent = (e.dataset.label || "") + l.text;
      e.classList.toggle("late", l.late);
    }
  }, 1000);

  function countdown(deadline, label) {
    const l = left(deadline);
    return el("span", { class: "countdown" + (l.late ? " late" : ""), "data-deadline": String(deadline), "data-label": label || "" }, (label || "") + l.text);
  }

  function time(ms) { return ms ? new Date(ms).toLocaleString() : ""; }

  function bucket(b) { return el("span", { class: "bucket " + b }, b); }

  function summary(lead) {
    return el("div", {}, el("strong", {}, lead.customer), " ", bucket(lead.bucket), " ",
      el("span", { class: "meta" }, lead.product + " · score " + lead.score + " · " + lead.state.replaceAll("_", " ")));
  }

  function reasonBars(reasons) {
    const scored = reasons.filter((r) => r.kind !== "lexicon");
    const max = Math.max(1e-9, ...scored.map((r) => Math.abs(r.weight)));
    const grid = el("div", { class: "bars", id: "reasons" });
    for (const r of scored) {
      const w = Math.round((100 * Math.abs(r.weight)) / max);
      grid.append(el("span", {}, r.kind === "phrase" ? "“" + r.name + "”" : r.name + (r.value ? " = " + r.value : "")),
        el("div", {}, el("div", { class: "bar " + (r.weight >= 0 ? "up" : "down"), style: "width:" + w + "%" })),
        el("span", { class: "meta" }, (r.weight >= 0 ? "+" : "") + r.weight.toFixed(2)));
    }
    return grid;
  }

  // The lead page: transcripts, score and reasons, intents, lexicon hits,
  // features, audit trail.
  function renderLead(box, page, actions) {
    const latest = page.interactions[page.interactions.length - 1];
    box.replaceChildren(el("h2", {}, "Lead " + page.lead.id), summary(page.lead),
      el("p", { class: "meta" }, "campaign " + page.lead.campaign + " · branch " + page.lead.branch + " · model " + page.lead.model_version));
    if (actions) box.append(actions);
    // What the customer said comes first: the manager confirms the need.
    box.append(el("h2", {}, "Conversations (" + page.interactions.length + ")"));
    for (const i of page.interactions) {
      const chat = el("div", { class: "chat" });
      for (const t of i.interaction.turns) {
        chat.append(el("div", { class: "turn " + t.speaker }, el("span", { class: "who" }, t.speaker === "robot" ? "AI robot" : "Customer"), t.text));
      }
      box.append(el("p", { class: "meta" }, time(i.received_at_ms) + " · " + i.interaction.interaction_id + " · score " + i.score.score), chat);
    }
    if (latest) {
      const s = latest.score;
      box.append(el("h2", {}, "Score " + s.score + " (p = " + s.probability.toFixed(3) + ") · top reasons"), reasonBars(s.reasons));
      box.append(el("h2", {}, "Intents"), el("p", { id: "intents" }, latest.intents.map(([n, p]) => n.replaceAll("_", " ") + " " + Math.round(p * 100) + "%").join(" · ")));
      const hits = s.reasons.filter((r) => r.kind === "lexicon");
      box.append(el("h2", {}, "Lexicon hits"), el("p", { id: "lexicon" }, hits.length ? hits.map((h) => h.value + ": “" + h.name + "”").join(" · ") : "none"));
      const f = latest.interaction.features || {};
      const rows = Object.entries(f).filter(([, v]) => v !== null).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v)));
      if (latest.defaulted_features.length) rows.push(el("tr", {}, el("td", {}, "model defaults for"), el("td", {}, latest.defaulted_features.join(", "))));
      box.append(el("h2", {}, "Customer features"), el("table", { id: "features" }, ...rows));
    }
    const trail = el("table", { id: "audit" }, el("tr", {}, el("th", {}, "when"), el("th", {}, "who"), el("th", {}, "what"), el("th", {}, "from → to"), el("th", {}, "why")));
    for (const e of page.history) {
      trail.append(el("tr", { "data-action": e.action }, el("td", {}, time(e.at)), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, e.from + " → " + e.to), el("td", {}, e.reason)));
    }
    box.append(el("h2", {}, "Audit trail"), trail);
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    location.href = "/";
  }

  // Pages other than sign-in need a token; `/api/me` says whose it is.
  async function who(role) {
    if (!token()) { location.href = "/"; return null; }
    const me = await call("GET", "/api/me");
    if (me.role !== role) { location.href = me.page; return null; }
    document.getElementById("who").textContent = me.manager_id || me.role;
    onClick(document.getElementById("signout"), async () => signOut());
    return me;
  }

  // Server-Sent Events over fetch (EventSource cannot send Authorization).
  async function events(path, onEvent, signal) {
    const resp = await fetch(path, { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" }, signal });
    if (!resp.ok) throw await failure(resp);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const c = line.indexOf(":");
          const field = c < 0 ? line : line.slice(0, c);
          let v = c < 0 ? "" : line.slice(c + 1);
          if (v.startsWith(" ")) v = v.slice(1);
          if (field === "event") name = v; else if (field === "data") data.push(v);
        }
        if (data.length) onEvent(name, data.join("\n"));
      }
    }
  }

  // The sign-in page.
  const form = document.getElementById("signin");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
      try {
        const me = await call("GET", "/api/me");
        if (me.page === "/") { status(me.role + " has no workbench page", true); return; }
        location.href = me.page;
      } catch (e) { status(e.message, true); }
    });
  }

  return { call, onClick, requestId, el, countdown, summary, renderLead, status, who, events, noteNow, time };
})();
