// The remote manager's desk: pull under a lease, my leads, the lead page
// and its outcome buttons.
"use strict";

(async () => {
  const F = Funnel;
  if (!(await F.who("remote_manager"))) return;
  const mine = document.getElementById("mine");
  const due = document.getElementById("callbacks");
  const box = document.getElementById("lead");
  let leases = [];
  let callbacks = [];
  let open = null;
  // Bumped by every navigation: a lead page that arrives after a newer
  // click (another lead opened, an outcome recorded) is not drawn.
  let nav = 0;

  function drawMine() {
    mine.replaceChildren(...leases.map((l) => {
      const li = F.el("li", { "data-lead": l.lead.id, class: open === l.lead.id ? "open" : "" },
        F.summary(l.lead), F.countdown(l.expires_at, "lease "),
        " ", F.el("button", { class: "open-lead", onclick: () => show(l.lead.id) }, "Open"));
      return li;
    }));
    if (!leases.length) mine.append(F.el("li", { class: "meta" }, "Nothing leased. Pull the next leads."));
    // Due call-backs wait in my own queue; "Pull next" takes them first.
    due.replaceChildren(...callbacks.map((c) => F.el("li", { "data-lead": c.lead.id },
      F.summary(c.lead), F.el("span", { class: "meta" }, " due " + F.time(c.due_at)))));
    if (!callbacks.length) due.append(F.el("li", { class: "meta" }, "No call-back is due."));
  }

  async function refresh() {
    const got = await F.call("GET", "/api/remote/mine");
    leases = got.leases;
    callbacks = got.callbacks;
    drawMine();
  }

  function actions(lease) {
    const a = document.getElementById("actions-tpl").content.cloneNode(true).firstElementChild;
    const left = a.querySelector("#lease-left");
    left.replaceWith(F.countdown(lease.expires_at, "lease "));
    const path = "/api/remote/leads/" + encodeURIComponent(lease.lead.id);
    const done = async (verb, body, what) => {
      const r = await F.call("POST", path + "/" + verb, Object.assign({ lease_id: lease.lease_id }, body));
      F.status(what + (r.destination ? " → " + r.destination.replaceAll("_", " ") : "") + (r.replayed ? " (already recorded)" : ""));
      open = null;
      nav++;
      box.replaceChildren(F.el("p", { class: "hint", id: "done" }, "Lead " + lease.lead.id + ": " + what));
      await refresh();
    };
    const outcome = (id, name, what) => F.onClick(a.querySelector(id), () => done("complete", { outcome: name }, what));
    outcome("#converted", "converted", "converted");
    outcome("#not-interested", "not_interested", "not interested");
    outcome("#incubate", "return_to_incubation", "returned to incubation");
    F.onClick(a.querySelector("#call-back"), async () => {
      const at = a.querySelector("#callback-at").value;
      if (!at) { F.status("Pick the call-back date and time", true); return; }
      await done("complete", { outcome: "call_back", callback_at: new Date(at).getTime() }, "call back " + new Date(at).toLocaleString());
    });
    F.onClick(a.querySelector("#escalate"), async () => {
      const note = a.querySelector("#escalate-note").value.trim();
      if (!note) { F.status("Write a note for the branch manager", true); return; }
      await done("escalate", { note }, "escalated to the branch");
    });
    F.onClick(a.querySelector("#release"), async () => {
      await F.call("POST", path + "/release", { lease_id: lease.lease_id });
      F.status("released");
      open = null;
      nav++;
      box.replaceChildren(F.el("p", { class: "hint", id: "done" }, "Lead " + lease.lead.id + ": released"));
      await refresh();
    });
    F.onClick(a.querySelector("#extend"), async () => {
      const r = await F.call("POST", path + "/extend", { lease_id: lease.lease_id, seconds: 900 });
      lease.expires_at = r.expires_at;
      F.status("lease extended to " + F.time(r.expires_at));
      await refresh();
      show(lease.lead.id);
    });
    return a;
  }

  async function show(id) {
    const mine = ++nav;
    const page = await F.call("GET", "/api/leads/" + encodeURIComponent(id));
    if (mine !== nav) return;
    const lease = leases.find((l) => l.lead.id === id);
    open = id;
    F.renderLead(box, page, lease ? actions(lease) : null);
    drawMine();
  }

  F.onClick(document.getElementById("pull"), async () => {
    // One id per click: a retried or doubled request answers the same leases.
    const body = {
      max: Number(document.getElementById("pull-max").value),
      lease_seconds: 60 * Number(document.getElementById("pull-lease").value),
      request_id: F.requestId(),
    };
    const got = await F.call("POST", "/api/remote/pull", body);
    F.status("pulled " + got.leases.length + (got.leases.length === 1 ? " lead" : " leads"));
    await refresh();
    if (got.leases.length) await show(got.leases[0].lead.id);
  });

  try { await refresh(); } catch (e) { F.status(e.message, true); }
})();
