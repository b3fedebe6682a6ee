// The agent desktop's connection: the desktop protocol over /v1/desktop (docs/desktop-protocol.md).
// The node pushes every change; the page answers its heartbeats as they arrive, so nothing here
// depends on timers that a background tab throttles. After a lost connection the page logs in
// again and shows whatever state the node reports: it never sends "ready" on its own.
"use strict";
(function () {
  const { wsUrl } = window.Outdial;
  const V = window.AgentView;
  const $ = (id) => document.getElementById(id);

  const S = {
    creds: null, ws: null, connected: false, nextId: 1, last: null,
    call: null, preview: null, callAt: 0, previewAt: 0, wrapupAt: 0, wrapupMs: null,
    leaving: false, retries: 0, serviceDown: false, reconnecting: false,
  };

  function send(msg) {
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
      V.log(`Not sent (no connection): ${msg.type}`);
      return false;
    }
    msg.id = S.nextId++;
    S.ws.send(JSON.stringify(msg));
    return true;
  }

  function connect() {
    const ws = new WebSocket(wsUrl("/v1/desktop"));
    S.ws = ws;
    $("conn").textContent = "Connecting…";
    ws.onopen = () => {
      if (S.ws !== ws) return;
      send({ type: "login", ...S.creds });
    };
    ws.onmessage = (ev) => {
      if (S.ws !== ws) return; // a stale connection's last words
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      handle(msg);
    };
    ws.onclose = () => {
      if (S.ws !== ws) return;
      S.connected = false;
      S.ws = null;
      if (S.leaving || !S.creds) { $("conn").textContent = "Not connected"; V.render(S); return; }
      // The old session ends on the node when this connection drops; until the new one
      // reports its state, nothing is shown as available.
      S.last = null;
      S.reconnecting = true;
      const wait = Math.min(10000, 500 * 2 ** S.retries++);
      $("conn").textContent = `Connection lost: reconnecting in ${Math.ceil(wait / 1000)} s`;
      V.banner("Connection to the node lost. Reconnecting; your state will be the node's when it is back.", "warn");
      V.render(S);
      setTimeout(connect, wait);
    };
  }

  function handle(msg) {
    switch (msg.type) {
      case "heartbeat":
        send({ type: "heartbeat" });
        return;
      case "logged-in":
        S.connected = true; S.retries = 0; S.reconnecting = false;
        S.wrapupMs = msg.wrapup_timeout_ms || null;
        $("login").hidden = true; $("desk").hidden = false;
        $("who").textContent = `${msg.agent} · zone ${msg.zone}`;
        $("conn").textContent = "Connected";
        if (!S.serviceDown) V.banner("");
        V.log("Logged in");
        break;
      case "state": {
        const was = S.last && S.last.call_state;
        S.last = msg;
        if (msg.call_state === "wrapup" && was !== "wrapup") S.wrapupAt = performance.now();
        if (msg.call_state === "idle") { S.call = null; S.preview = null; S.callAt = 0; S.previewAt = 0; }
        break;
      }
      case "call":
        S.call = msg; S.preview = null; S.callAt = performance.now();
        V.log(`Call: ${msg.phone}`);
        break;
      case "preview":
        S.preview = msg; S.previewAt = performance.now();
        V.log(`Preview: ${msg.phone}`);
        break;
      case "call-ended":
        V.log(`Call ended by ${msg.by}${msg.code ? ` (${msg.code})` : ""}`);
        if (msg.by === "failover") V.banner("The call dropped while the zone was taken over by another node.", "warn");
        break;
      case "service":
        S.serviceDown = !msg.available;
        V.banner(msg.available ? "" : "Agent service unavailable: the zone is being taken over. Stay on the line; the desktop will resume.", "warn");
        V.log(msg.available ? "Service available" : "Service unavailable");
        break;
      case "state-check": {
        const st = S.last || { call_state: "idle" };
        send({ type: "state-report", call_state: st.call_state, attempt: st.attempt });
        V.banner("The node checked this desktop's state after a takeover.", "info");
        V.log("State check answered");
        break;
      }
      case "logged-out":
        S.creds = null; S.connected = false; S.last = null;
        $("login").hidden = false; $("desk").hidden = true;
        $("login-error").textContent = msg.reason === "requested" ? "" : `Logged out: ${msg.reason}`;
        $("conn").textContent = "Not connected";
        V.log(`Logged out (${msg.reason})`);
        break;
      case "error":
        V.log(`Refused: ${msg.message}`);
        if (!S.connected && S.reconnecting && ["already-logged-in", "unavailable"].includes(msg.code)) {
          // The node is still ending the session of the lost connection: try again.
          if (S.ws) S.ws.close();
        } else if (!S.connected) {
          $("login-error").textContent = msg.message;
          S.creds = null; S.leaving = true;
          if (S.ws) S.ws.close();
        }
        break;
      default:
        break;
    }
    V.render(S);
  }

  function attempt() {
    return (S.last && S.last.attempt) || (S.call && S.call.attempt) || (S.preview && S.preview.attempt);
  }

  function dispose(code) {
    const when = $("callback").value;
    const msg = { type: "dispose", code, attempt: attempt() };
    if (when) {
      const at = new Date(when).getTime();
      if (!(at > Date.now())) { V.log("The callback time must be in the future"); $("callback").focus(); return; }
      msg.callback_at_ms = at;
    }
    if (send(msg)) { $("callback").value = ""; V.log(`Disposed: ${code}`); }
  }

  const actions = {
    ready: () => send({ type: "ready" }),
    notReady: () => send({ type: "not-ready", reason: $("reason").value }),
    accept: () => send({ type: "accept-preview", attempt: attempt() }),
    skip: () => send({ type: "skip-preview", attempt: attempt() }),
    hangup: () => send({ type: "hang-up", attempt: attempt() }),
    hold: () => send({ type: S.last && S.last.call_state === "held" ? "unhold" : "hold" }),
  };

  function clickIfEnabled(id) {
    const b = $(id);
    if (b && !b.disabled && !b.closest("[hidden]")) b.click();
  }

  // Plain keys while focus is not in a field: R, N, A, S, O, H and 1-7 for the dispositions.
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || $("desk").hidden) return;
    const t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    const k = ev.key.toLowerCase();
    const ids = { r: "ready", n: "not-ready", a: "accept", s: "skip", o: "hold", h: "hangup" };
    const code = V.CODES.find(([key]) => key === k);
    if (ids[k]) clickIfEnabled(ids[k]);
    else if (code) document.querySelector(`#codes button[data-code="${code[1]}"]:not([disabled])`)?.click();
    else return;
    ev.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", () => {
    V.codeButtons(dispose);
    $("login").addEventListener("submit", (ev) => {
      ev.preventDefault();
      $("login-error").textContent = "";
      S.reconnecting = false;
      S.creds = { agent: $("agent").value.trim(), password: $("password").value, zone: $("zone").value.trim(), phone: $("phone").value.trim() };
      S.leaving = false;
      connect();
    });
    $("ready").addEventListener("click", actions.ready);
    $("not-ready").addEventListener("click", actions.notReady);
    $("accept").addEventListener("click", actions.accept);
    $("skip").addEventListener("click", actions.skip);
    $("hangup").addEventListener("click", actions.hangup);
    $("hold").addEventListener("click", actions.hold);
    $("logout").addEventListener("click", () => { S.leaving = true; send({ type: "logout" }); });
    document.addEventListener("keydown", onKey);
    // Only the on-screen clocks tick; the state comes from the node.
    setInterval(() => V.clocks(S), 500);
    V.render(S);
    $("agent").focus();
  });
})();
