// The operations cockpit: the funnel report, per-group table, breaches and
// back-flows per day, queues, stuck work with a drill-down, the model.
// Plain JavaScript, no build step; every number comes from /api/admin/*.
"use strict";

(() => {
  const { call, el, onClick, status, renderLead, time } = Funnel;
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");
  const dur = (s, beyond) => {
    if (s === null || s === undefined) return beyond ? "> 30 d" : "–";
    if (s < 3600) return "≤ " + Math.round(s / 60) + " min";
    if (s < 86400) return "≤ " + Math.round(s / 3600) + " h";
    return "≤ " + Math.round(s / 86400) + " d";
  };

  // The funnel's stages, from robot calls to conversions.
  const STAGES = [
    ["ingested", "Robot calls scored · 外呼进线", (t) => t.ingested],
    ["high", "High tier · 高意向", (t) => t.counts.bucket_high],
    ["medium", "Medium tier · 中意向", (t) => t.counts.bucket_medium],
    ["sales", "Sent to sales · 转销售", (t) => t.counts.route_referral + t.counts.route_remote],
    ["offered", "Offered to branches · 转介", (t) => t.counts.offered],
    ["leased", "Pulled by remote managers · 远程领取", (t) => t.counts.leased],
    ["touched", "Touched · 已触达", (t) => t.touched],
    ["accepted", "Accepted by branches · 已接受", (t) => t.counts.accepted],
    ["converted", "Converted · 已转化", (t) => t.counts.converted],
  ];

  // Columns of the per-group table: [key, heading, value of a row].
  const COLUMNS = [
    ["group", "group", (r) => r.group],
    ["ingested", "calls 进线", (r) => r.ingested],
    ["high", "high", (r) => r.counts.bucket_high],
    ["offered", "offered 转介", (r) => r.counts.offered],
    ["accepted", "accepted", (r) => r.counts.accepted],
    ["declined", "declined", (r) => r.counts.declined],
    ["timed_out", "timed out 超时", (r) => r.counts.timed_out],
    ["leased", "leased 领取", (r) => r.counts.leased],
    ["touched", "touched", (r) => r.touched],
    ["converted", "converted 转化", (r) => r.counts.converted],
    ["backflow", "back-flows 回流", (r) => r.counts.backflow],
    ["acceptance", "accept %", (r) => r.rates.acceptance],
    ["conversion", "convert %", (r) => r.rates.conversion],
    ["ttft", "first touch p50", (r) => r.time_to_first_touch.p50_s],
    ["tta", "accept p50", (r) => r.time_to_accept.p50_s],
  ];
  const RATE = new Set(["acceptance", "conversion"]);
  let sortBy = "ingested", sortDown = true, lastRows = [], openList = "unassigned";

  function cell(key, r, get) {
    const v = get(r);
    if (RATE.has(key)) return el("td", { class: "n" }, pct(v));
    if (key === "ttft") return el("td", { class: "n" }, dur(v, r.time_to_first_touch.beyond));
    if (key === "tta") return el("td", { class: "n" }, dur(v, r.time_to_accept.beyond));
    return el("td", { class: key === "group" ? "" : "n", "data-col": key }, v);
  }

  function drawTable() {
    const col = COLUMNS.find((c) => c[0] === sortBy);
    const rows = [...lastRows].sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      const c = x === y ? 0 : (x === null || x === undefined) ? -1 : (y === null || y === undefined) ? 1 : x < y ? -1 : 1;
      return sortDown ? -c : c;
    });
    const head = el("tr", {}, ...COLUMNS.map(([key, title]) => {
      const th = el("th", { class: key === "group" ? "" : "n", "data-sort": key }, title + (key === sortBy ? (sortDown ? " ▼" : " ▲") : ""));
      th.addEventListener("click", () => { sortDown = key === sortBy ? !sortDown : true; sortBy = key; drawTable(); });
      return th;
    }));
    $("groups").replaceChildren(head, ...rows.map((r) => el("tr", { "data-group": r.group }, ...COLUMNS.map(([k, , g]) => cell(k, r, g)))));
  }

  function drawFunnel(report) {
    const t = report.total;
    const top = Math.max(1, t.ingested);
    const box = $("funnel");
    box.replaceChildren();
    for (const [key, label, get] of STAGES) {
      const n = get(t);
      box.append(el("span", {}, label),
        el("div", {}, el("div", { class: "bar", style: "width:" + Math.max(0.5, (100 * n) / top) + "%" })),
        el("span", { class: "num", id: "stage-" + key, "data-value": String(n) }, n));
    }
    const r = t.rates;
    $("rates").textContent = "sent to sales " + pct(r.sales_share) + " · offers accepted " + pct(r.acceptance) +
      " · declined " + pct(r.decline) + " · SLA breaches " + pct(r.sla_breach) + " · outcomes converted " + pct(r.conversion) +
      " · first touch p50 " + dur(t.time_to_first_touch.p50_s, t.time_to_first_touch.beyond) + ", p90 " + dur(t.time_to_first_touch.p90_s, t.time_to_first_touch.beyond) +
      " · accept p50 " + dur(t.time_to_accept.p50_s, t.time_to_accept.beyond) +
      " · declines 拒绝: no time " + t.counts.declined_no_capacity + ", not my customer " + t.counts.declined_not_my_customer +
      ", product " + t.counts.declined_product_mismatch + ", customer unsuitable " + t.counts.declined_customer_unsuitable +
      ", other " + t.counts.declined_other;
    $("span").textContent = report.from + " – " + report.to;
  }

  // Per day: SLA breaches (offers timed out) and back-flows, as SVG bars.
  function drawDays(days) {
    const NS = "http://www.w3.org/2000/svg";
    const max = Math.max(1, ...days.map((d) => Math.max(d.counts.timed_out, d.counts.backflow)));
    const w = Math.max(1, days.length) * 28, h = 90;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", h);
    days.forEach((d, i) => {
      [["timed_out", "#a33", 4], ["backflow", "#2f6f9f", 15]].forEach(([k, color, dx]) => {
        const v = d.counts[k], bh = (v / max) * (h - 14);
        const r = document.createElementNS(NS, "rect");
        r.setAttribute("x", i * 28 + dx); r.setAttribute("y", h - 12 - bh);
        r.setAttribute("width", 10); r.setAttribute("height", bh); r.setAttribute("fill", color);
        svg.append(r);
      });
    });
    $("days-chart").replaceChildren(svg);
    $("days").replaceChildren(el("tr", {}, el("th", {}, "day"), el("th", { class: "n" }, "calls"), el("th", { class: "n" }, "SLA breaches (red)"), el("th", { class: "n" }, "back-flows (blue)")),
      ...days.map((d) => el("tr", { "data-day": d.date }, el("td", {}, d.date), el("td", { class: "n" }, d.ingested), el("td", { class: "n" }, d.counts.timed_out), el("td", { class: "n" }, d.counts.backflow))));
  }

  function drawQueues(q) {
    const rows = q.queues.filter((x) => x.depth > 0).sort((a, b) => b.depth - a.depth).slice(0, 15);
    $("queues").replaceChildren(el("tr", {}, el("th", {}, "region"), el("th", {}, "queue"), el("th", {}, "owner"), el("th", { class: "n" }, "depth"), el("th", { class: "n" }, "oldest")),
      ...rows.map((x) => el("tr", { "data-queue": x.queue + ":" + x.owner }, el("td", {}, x.region), el("td", {}, x.queue), el("td", {}, x.owner), el("td", { class: "n" }, x.depth), el("td", { class: "n" }, dur(Math.round(x.oldest_age_ms / 1000))))));
  }

  async function drill(id) {
    const page = await call("GET", "/api/leads/" + encodeURIComponent(id));
    renderLead($("lead"), page, null);
    $("lead").scrollIntoView({ block: "nearest" });
  }

  async function loadList(name) {
    openList = name;
    for (const b of document.querySelectorAll("#list-tabs button")) b.classList.toggle("good", b.dataset.list === name);
    const l = await call("GET", "/api/admin/lists/" + name + "?count=20");
    $("list-total").textContent = l.total + " in all" + (l.items.length < l.total ? " · the first of each region shown" : "");
    $("stuck").replaceChildren(...l.items.map((i) => {
      const open = el("button", { class: "quiet open-lead" }, "open");
      onClick(open, () => drill(i.lead.id));
      return el("li", { "data-lead": i.lead.id }, Funnel.summary(i.lead),
        el("div", { class: "meta" }, i.region + " · " + i.lead.branch + " · " + (i.note ? i.note + " · " : "") + time(i.at)), open);
    }));
  }

  async function refresh() {
    const q = new URLSearchParams({ group: $("group").value });
    if ($("from").value) q.set("from", $("from").value);
    if ($("to").value) q.set("to", $("to").value);
    const [report, queues, model] = await Promise.all([
      call("GET", "/api/admin/funnel?" + q), call("GET", "/api/admin/queues"), call("GET", "/api/admin/model")]);
    if (!$("from").value) { $("from").value = report.from; $("to").value = report.to; }
    drawFunnel(report);
    lastRows = report.rows;
    $("group-name").textContent = report.group_by;
    drawTable();
    drawDays(report.days);
    drawQueues(queues);
    $("model").textContent = model.model_version + " · text " + model.text_model + " · tabular " + model.tabular_model +
      " · lexicon " + model.lexicon + " · thresholds high ≥ " + model.high + ", medium ≥ " + model.medium;
    await loadList(openList);
    $("live").textContent = "updated " + new Date().toLocaleTimeString();
    $("live").classList.add("on");
    status("");
  }

  async function start() {
    if (!(await Funnel.who("admin"))) return;
    $("range").addEventListener("submit", (ev) => { ev.preventDefault(); refresh().catch((e) => status(e.message, true)); });
    for (const b of document.querySelectorAll("#list-tabs button")) onClick(b, () => loadList(b.dataset.list));
    await refresh();
    setInterval(() => refresh().catch((e) => status(e.message, true)), 15000);
  }
  start().catch((e) => status(e.message, true));
})();
