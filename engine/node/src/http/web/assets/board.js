// The wall-board's connection: one WebSocket to the node's publisher, which pushes a snapshot
// whenever something changes. Job actions go through the API with the session's CSRF token.
"use strict";
(function () {
  const { api, wsUrl } = window.Outdial;
  const $ = (id) => document.getElementById(id);
  const B = { role: null, snap: null, offset: 0, retries: 0, ws: null };

  function banner(text) {
    $("banner").hidden = !text;
    $("banner").textContent = text || "";
  }

  async function action(job, what) {
    $("job-result").textContent = `${what} job ${job}…`;
    try {
      const r = await api("POST", `/v1/jobs/${job}/${what}`);
      $("job-result").textContent = `Job ${job}: ${r.state}`;
    } catch (e) {
      $("job-result").textContent = `Job ${job}: ${what} refused: ${e.message}`;
    }
  }

  async function agentAction(agent, what, job) {
    $("agent-result").textContent = `${what} ${agent}…`;
    try {
      if (what === "move") await api("POST", `/v1/agents/${encodeURIComponent(agent)}/move`, { job });
      else await api("POST", `/v1/agents/${encodeURIComponent(agent)}/logout`);
      $("agent-result").textContent = `${agent}: ${what === "move" ? `moving to job ${job}` : "logged out"}`;
    } catch (e) {
      $("agent-result").textContent = `${agent}: ${what} refused: ${e.message}`;
    }
  }

  const handlers = { job: action, agent: agentAction };

  function connect() {
    const ws = new WebSocket(wsUrl("/v1/board"));
    B.ws = ws;
    ws.onopen = () => { $("conn").textContent = "Live"; B.retries = 0; banner(""); };
    ws.onmessage = (ev) => {
      let snap;
      try { snap = JSON.parse(ev.data); } catch (_) { return; }
      B.snap = snap;
      B.offset = snap.now_ms - Date.now();
      window.BoardView.render(snap, B.offset, B.role, handlers);
    };
    ws.onclose = () => {
      if (B.ws !== ws) return;
      const wait = Math.min(10000, 500 * 2 ** B.retries++);
      $("conn").textContent = "Disconnected";
      banner(`The live feed dropped; reconnecting in ${Math.ceil(wait / 1000)} s. Figures shown are stale.`);
      setTimeout(start, wait);
    };
  }

  async function start() {
    let me;
    try {
      me = await api("GET", "/v1/whoami");
    } catch (e) {
      if (e.status === 401) { $("login").hidden = false; $("board").hidden = true; $("name").focus(); return; }
      banner(`The node does not answer: ${e.message}`);
      setTimeout(start, 3000);
      return;
    }
    B.role = me.role;
    $("who").textContent = `${me.name} (${me.role})`;
    $("login").hidden = true; $("board").hidden = false;
    connect();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      try {
        await api("POST", "/v1/login", { name: $("name").value.trim(), password: $("password").value });
        start();
      } catch (e) {
        $("login-error").textContent = e.message;
      }
    });
    // Times in state move on between snapshots: only those cells are redrawn.
    setInterval(() => { if (B.snap) window.BoardView.times(B.offset); }, 1000);
    start();
  });
})();
