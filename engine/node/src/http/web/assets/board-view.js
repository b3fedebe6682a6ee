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

  // Rows are kept from one snapshot to the next by id: their data cells are rebuilt only when
  // the item changed, their last cell (the buttons) only when `keyOf` changes, so a press or
  // the focus is not lost and an unchanged row costs nothing.
  function keyed(table, heads, store, items, idOf, cellsOf, keyOf, actionsOf) {
    if (!table.tHead) table.append(head(...heads), el("tbody"));
    const body = table.tBodies[0];
    const shown = [];
    for (const it of items) {
      const id = idOf(it);
      let r = store.get(id);
      if (!r) {
        r = { tr: el("tr"), cells: [], actions: el("td"), key: null };
        r.tr.append(r.actions);
        store.set(id, r);
      }
      const sig = JSON.stringify(it);
      if (r.sig !== sig) {
        const cells = cellsOf(it, r.tr);
        cells.forEach((c, i) => {
          if (r.cells[i]) r.tr.replaceChild(c, r.cells[i]); else r.tr.insertBefore(c, r.actions);
        });
        r.cells = cells;
        r.sig = sig;
      }
      r.item = it;
      const key = keyOf(it);
      if (r.key !== key) { replace(r.actions, actionsOf(it)); r.key = key; }
      shown.push(r.tr);
    }
    for (const [id, r] of store) if (!shown.includes(r.tr)) { r.tr.remove(); store.delete(id); }
    const same = shown.length === body.children.length && shown.every((tr, i) => body.children[i] === tr);
    if (!same) for (const tr of shown) body.append(tr);
  }

  const jobRows = new Map();

  function jobCells(j, tr) {
    tr.dataset.job = j.id;
    tr.dataset.state = j.state;
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

  function jobs(snap, role, on) {
    keyed($("jobs"), ["Job", "Campaign", "Mode", "State", "Progress", "Attempts", "In flight", "Nuisance (window / cap)", "Machine verdicts", "Rate", "By code", "Actions"],
      jobRows, snap.jobs, (j) => j.id, jobCells, (j) => `${j.state}/${role}`, (j) => jobActions(j, role, on.job));
  }

  const agentRows = new Map();

  function agentActions(a, targets, role, onAgent) {
    if (role !== "supervisor" && role !== "admin") return "";
    const choices = targets.filter((j) => j.zone === a.zone && !(a.job && a.job.job === j.id));
    const select = el("select", { "aria-label": `job to move ${a.agent} to` },
      choices.map((j) => el("option", { value: j.id, text: `job ${j.id} · ${j.name}` })));
    return [
      choices.length ? select : "",
      choices.length ? el("button", { type: "button", "data-agent": a.agent, "data-action": "move", on: { click: () => onAgent(a.agent, "move", Number(select.value)) } }, "move") : "",
      el("button", { type: "button", "data-agent": a.agent, "data-action": "logout", "aria-label": `log ${a.agent} out`, on: { click: () => onAgent(a.agent, "logout") } }, "log out"),
    ];
  }

  function agents(snap, offset, role, on) {
    const now = Date.now() + offset;
    const targets = snap.jobs.filter((j) => j.state === "running" && j.mode !== "agentless");
    const sig = targets.map((j) => j.id).join(",");
    keyed($("agents"), ["Agent", "Zone", "State", "Time in state", "Job", "Calls", "Occupancy", "Actions"],
      agentRows, snap.agents, (a) => a.agent, (a, tr) => {
        tr.dataset.agent = a.agent;
        tr.dataset.state = a.state;
        const inState = now - a.since_ms;
        return [
          el("th", { scope: "row", text: a.agent }), el("td", { text: a.zone }),
          el("td", { class: `s-${a.state}`, "data-col": "state", text: a.state }),
          el("td", { class: level(a.state, inState), "data-col": "time", text: duration(inState) }),
          el("td", { text: a.job && a.job.job != null ? a.job.job : "—" }),
          el("td", { text: a.calls }), el("td", { text: `${Math.round((a.occupancy || 0) * 100)} %` }),
        ];
      }, (a) => `${role}/${sig}/${a.job && a.job.job}`, (a) => agentActions(a, targets, role, on.agent));
    times(offset);
  }

  // Only the time-in-state cells move between snapshots: their text and colour, in place.
  function times(offset) {
    const now = Date.now() + offset;
    for (const r of agentRows.values()) {
      const cell = r.cells[3];
      if (!cell || !r.item) continue;
      const inState = now - r.item.since_ms;
      const text = duration(inState);
      if (cell.textContent !== text) cell.textContent = text;
      const cls = level(r.item.state, inState);
      if (cell.className !== cls) cell.className = cls;
    }
  }

  const ms = (x) => (x == null ? "—" : `${Math.round(x)} ms`);

  function components(snap) {
    replace($("components"), el("caption", { class: "sr-only", text: "Components" }),
      head("Component", "Zone", "Role", "Restarts"),
      el("tbody", {}, (snap.components || []).map((c) => el("tr", { "data-component": c.component },
        el("th", { scope: "row", text: c.component }), el("td", { text: c.zone || "—" }),
        el("td", { class: `role-${c.role.toLowerCase()}`, text: c.role }),
        el("td", { text: c.restarts ? `${c.restarts} (last ${ms(c.last_restart_ms)})` : "0" })))));
    replace($("takeovers"), el("caption", { class: "sr-only", text: "Takeovers" }),
      head("Zone", "Service", "Takeovers", "Took (p50 / max)", "Nuisance released", "Desktop errors", "Epoch"),
      el("tbody", {}, (snap.takeovers || []).map((z) => el("tr", { "data-zone": z.zone },
        el("th", { scope: "row", text: z.zone }),
        el("td", { class: z.in_service ? "" : "alert", text: z.in_service ? "in service" : "taking over" }),
        el("td", { text: z.takeovers }), el("td", { text: `${ms(z.took_p50_ms)} / ${ms(z.took_max_ms)}` }),
        el("td", { text: z.nuisance_released }), el("td", { text: z.desktop_errors }), el("td", { text: z.epoch })))));
  }

  function render(snap, offset, role, on) {
    $("node-name").textContent = snap.node ? `· ${snap.node}` : "";
    states(snap); zones(snap); jobs(snap, role, on); components(snap); agents(snap, offset, role, on);
  }

  window.BoardView = { render, times };
})();
