// The wall-board's rendering of one snapshot from the node's publisher.
"use strict";
(function () {
  const { el, replace, duration } = window.Outdial;
  const $ = (id) => document.getElementById(id);

  // Seconds in a state before it shows amber, then red.
  const THRESHOLDS = {
    "not-ready": [300, 900], wrapup: [60, 180], available: [300, 900],
    talking: [600, 1200], held: [60, 180], unnailed: [10, 60],
  };

  function level(state, ms) {
    const t = THRESHOLDS[state];
    if (!t) return "";
    const s = ms / 1000;
    return s >= t[1] ? "alert" : s >= t[0] ? "warn" : "";
  }

  const pct = (x) => `${(Math.round(x * 100) / 100).toFixed(2)} %`;

  function head(...cols) {
    return el("thead", {}, el("tr", {}, cols.map((c) => el("th", { scope: "col", text: c }))));
  }

  function states(snap) {
    const order = ["available", "talking", "wrapup", "preview", "dialing", "held", "not-ready", "unnailed"];
    const keys = Object.keys(snap.by_state).sort((a, b) => (order.indexOf(a) + 99) % 99 - (order.indexOf(b) + 99) % 99);
    replace($("states"),
      el("li", { class: "tile total" }, el("span", { class: "n", text: snap.agents.length }), " logged in"),
      keys.map((k) => el("li", { class: `tile s-${k}`, "data-state": k }, el("span", { class: "n", text: snap.by_state[k] }), ` ${k}`)));
  }

  function zones(snap) {
    replace($("zones"),
      head("Zone", "Service", "Agents ready", "Agents", "Dialing", "Ringing", "Waiting for an agent", "Oldest wait"),
      el("tbody", {}, snap.zones.map((z) => el("tr", { "data-zone": z.zone },
        el("th", { scope: "row", text: z.zone }),
        el("td", { class: z.in_service ? "" : "alert", text: z.in_service ? "in service" : "taking over" }),
        el("td", { text: z.agents_ready }), el("td", { text: z.agents_total }),
        el("td", { "data-col": "dialing", text: z.calls_dialing }), el("td", { "data-col": "ringing", text: z.calls_ringing }),
        el("td", { "data-col": "waiting", text: z.calls_waiting }),
        el("td", { class: z.oldest_wait_ms > 2000 ? "warn" : "", text: z.oldest_wait_ms == null ? "—" : duration(z.oldest_wait_ms) })))));
  }

  function jobActions(j, role, onAction) {
    if (role !== "supervisor" && role !== "admin") return "";
    const allowed = { created: ["start", "stop"], running: ["pause", "stop"], paused: ["resume", "stop"] }[j.state] || [];
    return allowed.map((a) => el("button", { type: "button", "data-job": j.id, "data-action": a, "aria-label": `${a} job ${j.id}`, on: { click: () => onAction(j.id, a) } }, a));
  }

  // Job rows are kept from one snapshot to the next, and their buttons are rebuilt only when
  // the job's state changes: a button being pressed or holding the keyboard focus stays put.
  const jobRows = new Map();

  function jobCells(j) {
    const s = j.stats, c = j.contacts, n = s.nuisance_counts || {};
    const rate = j.nuisance_window === "30d" ? s.nuisance_rate_30d_pct : s.nuisance_rate_day_pct;
    const over = j.nuisance_cap_pct > 0 && rate > j.nuisance_cap_pct;
    const done = c.total ? Math.round((100 * c.final_) / c.total) : 0;
    const codes = Object.entries(s.by_code || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    return [
      el("th", { scope: "row", text: j.id }), el("td", { text: j.name }), el("td", { text: j.mode }),
      el("td", { class: `job-${j.state}`, "data-col": "state", text: j.state }),
      el("td", {}, el("progress", { max: c.total || 1, value: c.final_, "aria-label": `job ${j.id} progress` }),
        ` ${c.final_}/${c.total} final (${done} %), ${c.ready} to dial`),
      el("td", { "data-col": "attempts", text: s.attempts }), el("td", { text: s.in_flight }),
      el("td", { class: over ? "alert" : "" }, j.nuisance_cap_pct ? `${pct(rate)} / ${pct(j.nuisance_cap_pct)} (${j.nuisance_window})` : "—"),
      el("td", { text: j.nuisance_window === "30d" ? n.machine_30d : n.machine_day }),
      el("td", { text: `${(s.rate_cps || 0).toFixed(2)}/s` }),
      el("td", { class: "codes", text: codes || "—" }),
    ];
  }

  function jobs(snap, role, onAction) {
    const table = $("jobs");
    if (!table.tHead) {
      table.append(head("Job", "Campaign", "Mode", "State", "Progress", "Attempts", "In flight", "Nuisance (window / cap)", "Machine verdicts", "Rate", "By code", "Actions"), el("tbody"));
    }
    const body = table.tBodies[0];
    const shown = [];
    for (const j of snap.jobs) {
      let r = jobRows.get(j.id);
      if (!r) {
        r = { tr: el("tr", { "data-job": j.id }), cells: [], actions: el("td"), key: null };
        r.tr.append(r.actions);
        jobRows.set(j.id, r);
      }
      r.tr.dataset.state = j.state;
      const cells = jobCells(j);
      cells.forEach((c, i) => {
        if (r.cells[i]) r.tr.replaceChild(c, r.cells[i]); else r.tr.insertBefore(c, r.actions);
      });
      r.cells = cells;
      const key = `${j.state}/${role}`;
      if (r.key !== key) { replace(r.actions, jobActions(j, role, onAction)); r.key = key; }
      shown.push(r.tr);
    }
    for (const [id, r] of jobRows) if (!shown.includes(r.tr)) { r.tr.remove(); jobRows.delete(id); }
    const same = shown.length === body.children.length && shown.every((tr, i) => body.children[i] === tr);
    if (!same) for (const tr of shown) body.append(tr);
  }

  function agents(snap, offset) {
    const now = Date.now() + offset;
    replace($("agents"),
      head("Agent", "Zone", "State", "Time in state", "Job", "Calls", "Occupancy"),
      el("tbody", {}, snap.agents.map((a) => {
        const inState = now - a.since_ms;
        return el("tr", { "data-agent": a.agent, "data-state": a.state },
          el("th", { scope: "row", text: a.agent }), el("td", { text: a.zone }),
          el("td", { class: `s-${a.state}`, "data-col": "state", text: a.state }),
          el("td", { class: level(a.state, inState), "data-col": "time", text: duration(inState) }),
          el("td", { text: a.job && a.job.job != null ? a.job.job : "—" }),
          el("td", { text: a.calls }), el("td", { text: `${Math.round((a.occupancy || 0) * 100)} %` }));
      })));
  }

  function render(snap, offset, role, onAction) {
    $("node-name").textContent = snap.node ? `· ${snap.node}` : "";
    states(snap); zones(snap); jobs(snap, role, onAction); agents(snap, offset);
  }

  window.BoardView = { render, agents };
})();
