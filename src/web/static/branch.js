// The branch manager's page: offers arrive live (SSE), each with its SLA
// countdown; accept, decline with a reason, complete or hand back.
"use strict";

(async () => {
  const F = Funnel;
  if (!(await F.who("offline_manager"))) return;
  const offers = document.getElementById("offers");
  const accepted = document.getElementById("accepted");
  const box = document.getElementById("lead");
  const live = document.getElementById("live");
  const pending = new Map(); // offer id → {lead, accept_by, reason}

  function drawOffers() {
    offers.replaceChildren(...[...pending.entries()].map(([offerId, o]) => {
      const reason = F.el("input", { class: "decline-reason", placeholder: "Reason to decline" });
      const category = F.el("select", { class: "decline-category" },
        ...[["other", "other 其他"], ["no_capacity", "no time 无暇"], ["not_my_customer", "not my customer 非本人客户"],
          ["product_mismatch", "product mismatch 产品不符"], ["customer_unsuitable", "customer unsuitable 客户不适合"]]
          .map(([v, t]) => F.el("option", { value: v }, t)));
      const accept = F.el("button", { class: "accept good" }, "Accept");
      const decline = F.el("button", { class: "decline bad" }, "Decline");
      const path = "/api/branch/leads/" + encodeURIComponent(o.lead.id);
      F.onClick(accept, async () => {
        const page = await F.call("POST", path + "/accept", { offer_id: offerId });
        pending.delete(offerId);
        F.status("accepted " + o.lead.id);
        drawOffers();
        await refreshAccepted();
        F.renderLead(box, page, completion(page.lead.id, offerId));
      });
      F.onClick(decline, async () => {
        const why = reason.value.trim();
        if (!why) { F.status("Give a reason to decline", true); return; }
        const r = await F.call("POST", path + "/decline", { offer_id: offerId, reason: why, category: category.value });
        pending.delete(offerId);
        F.status("declined " + o.lead.id + " → " + r.destination.replaceAll("_", " "));
        drawOffers();
      });
      const view = F.el("button", { class: "open-lead", onclick: () => show(o.lead.id, null) }, "Open");
      return F.el("li", { "data-lead": o.lead.id, "data-offer": offerId }, F.summary(o.lead),
        F.el("div", { class: "meta" }, o.reason), F.countdown(o.accept_by, "SLA "),
        F.el("div", { class: "row" }, view, accept), F.el("div", { class: "row" }, category, reason, decline));
    }));
    if (!pending.size) offers.append(F.el("li", { class: "meta" }, "No referral waiting."));
  }

  function completion(leadId, offerId) {
    const a = F.el("div", { class: "actions", id: "actions" });
    const note = F.el("input", { id: "complete-note", placeholder: "Note" });
    a.append(F.el("div", { class: "row" }, note));
    const row = F.el("div", { class: "row" });
    for (const [outcome, label] of [["converted", "Converted"], ["not_interested", "Not interested"], ["return_to_remote", "Hand back to remote"], ["return_to_incubation", "Return to incubation"]]) {
      const b = F.el("button", { id: "outcome-" + outcome }, label);
      F.onClick(b, async () => {
        const r = await F.call("POST", "/api/branch/leads/" + encodeURIComponent(leadId) + "/complete", { offer_id: offerId, outcome, note: note.value.trim() });
        F.status(leadId + ": " + label.toLowerCase() + (r.replayed ? " (already recorded)" : ""));
        box.replaceChildren(F.el("p", { class: "hint", id: "done" }, "Lead " + leadId + ": " + label.toLowerCase()));
        await refreshAccepted();
      });
      row.append(b);
    }
    a.append(row);
    return a;
  }

  async function refreshAccepted() {
    const r = await F.call("GET", "/api/branch/referrals");
    accepted.replaceChildren(...r.accepted.map((a) => F.el("li", { "data-lead": a.lead.id }, F.summary(a.lead), F.countdown(a.due_at, "follow up "),
      " ", F.el("button", { class: "open-lead", onclick: () => show(a.lead.id, a.lead.offer_id) }, "Open"))));
    if (!r.accepted.length) accepted.append(F.el("li", { class: "meta" }, "None."));
  }

  async function show(id, acceptedOffer) {
    const page = await F.call("GET", "/api/leads/" + encodeURIComponent(id));
    F.renderLead(box, page, acceptedOffer ? completion(id, acceptedOffer) : null);
  }

  function onEvent(name, data) {
    const d = JSON.parse(data.startsWith("{") ? data : JSON.stringify({ message: data }));
    if (name === "offered") {
      F.noteNow(d.now);
      pending.set(d.offer_id, { lead: d.lead, accept_by: d.accept_by, reason: d.reason });
    } else if (name === "withdrawn") {
      pending.delete(d.offer_id);
      F.status("offer of " + d.lead_id + " withdrawn: " + d.reason.replaceAll("_", " "));
    } else if (name === "synced") {
      F.noteNow(d.now);
      live.textContent = "live";
      live.classList.add("on");
    } else if (name === "error") {
      F.status(d.message, true);
    }
    drawOffers();
  }

  // Reconnects after a drop; the server resends what is pending.
  (async () => {
    for (;;) {
      try {
        await F.events("/api/branch/events", onEvent);
      } catch (e) {
        F.status(e.message, true);
      }
      live.textContent = "reconnecting…";
      live.classList.remove("on");
      pending.clear();
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  drawOffers();
  try { await refreshAccepted(); } catch (e) { F.status(e.message, true); }
})();
