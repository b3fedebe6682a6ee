// The agent desktop's rendering: every screen is drawn from the last messages the node sent
// (its state wins), never from what the page guessed.
"use strict";
(function () {
  const { el, replace } = window.Outdial;
  const $ = (id) => document.getElementById(id);

  const CODES = [
    ["1", "answered-human", "Spoke to the customer"],
    ["2", "answered-machine", "Answering machine"],
    ["3", "busy", "Busy"],
    ["4", "no-answer", "No answer"],
    ["5", "invalid-number", "Invalid number"],
    ["6", "declined", "Declined"],
    ["7", "blocked", "Do not call again"],
  ];
  const ON_CALL = ["dialing", "talking", "held", "consult", "conference-owner", "conference-passive", "pending-call"];

  function stateLabel(st) {
    if (!st) return "Unknown: waiting for the node";
    if (st.call_state === "idle") {
      return st.ready ? "Available" : `Not ready${st.not_ready_reason ? ` (${st.not_ready_reason})` : ""}`;
    }
    const names = { wrapup: "Wrap-up", talking: "Talking", held: "On hold", preview: "Preview", dialing: "Dialing", "pending-call": "Connecting a call" };
    return names[st.call_state] || st.call_state;
  }

  function nailLabel(n) {
    return { nailed: "Connected", nailing: "Calling your phone…", "un-nailed": "Not connected: calling again soon" }[n] || n || "—";
  }

  function jobLabel(j) {
    if (!j) return "—";
    switch (j.state) {
      case "attached": return `Job ${j.job}`;
      case "job-ended": return `Job ${j.job} ended: waiting for a new job`;
      case "pending-move": return `Job ${j.from}, moving to job ${j.to}`;
      default: return "No job";
    }
  }

  function card(table, c) {
    const rows = [["Phone", c.phone], ["Contact", c.contact], ["Job", c.job]];
    for (const [k, v] of Object.entries(c.fields || {})) rows.push([k, v]);
    replace(table, el("caption", { class: "sr-only", text: "Contact" }),
      el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { "data-field": k, text: v })))));
  }

  function render(S) {
    const st = S.last;
    const state = $("state");
    state.textContent = stateLabel(st);
    state.dataset.state = st ? (st.call_state === "idle" ? (st.ready ? "available" : "not-ready") : st.call_state) : "unknown";
    $("nail").textContent = nailLabel(st && st.nail);
    $("job").textContent = jobLabel(st && st.job);
    const cs = st ? st.call_state : null;
    const known = !!st && S.connected;
    $("ready").disabled = !known || (st.ready && cs === "idle");
    $("not-ready").disabled = !known || (!st.ready && cs === "idle");
    $("preview").hidden = !(cs === "preview" && S.preview);
    if (S.preview && cs === "preview") card($("preview-card"), S.preview);
    $("accept").disabled = !known; $("skip").disabled = !known;
    const onCall = ON_CALL.includes(cs);
    $("call").hidden = !(onCall || cs === "wrapup") || !S.call;
    if (S.call) card($("call-card"), S.call);
    $("hold").textContent = cs === "held" ? "Take off hold " : "Hold ";
    $("hold").append(el("kbd", { text: "O" }));
    $("hold").disabled = !known || !(cs === "talking" || cs === "held");
    $("hangup").disabled = !known || !onCall;
    $("wrapup").hidden = cs !== "wrapup";
    for (const b of document.querySelectorAll("#codes button")) b.disabled = !known || cs !== "wrapup";
    clocks(S);
  }

  // Display-only countdowns; the node ends wrap-up by itself when it runs out.
  function clocks(S) {
    const now = performance.now();
    const since = (t) => (t ? window.Outdial.duration(now - t) : "");
    $("preview-clock").textContent = S.previewAt ? `shown ${since(S.previewAt)}` : "";
    $("call-clock").textContent = S.callAt ? since(S.callAt) : "";
    if (S.last && S.last.call_state === "wrapup" && S.wrapupAt && S.wrapupMs) {
      const left = S.wrapupMs - (now - S.wrapupAt);
      $("wrapup-clock").textContent = `${window.Outdial.duration(left)} left`;
      $("wrapup-clock").classList.toggle("late", left < 10000);
    } else {
      $("wrapup-clock").textContent = "";
    }
  }

  function log(text) {
    const list = $("log");
    const t = new Date().toLocaleTimeString();
    list.prepend(el("li", {}, el("time", { text: t }), " ", text));
    while (list.children.length > 50) list.lastChild.remove();
  }

  function banner(text, kind) {
    const b = $("banner");
    b.hidden = !text;
    b.textContent = text || "";
    b.className = `banner ${kind || ""}`;
  }

  function codeButtons(onDispose) {
    replace($("codes"), CODES.map(([key, code, label]) =>
      el("button", { type: "button", "data-code": code, "aria-keyshortcuts": key, on: { click: () => onDispose(code) } },
        label, " ", el("kbd", { text: key }))));
  }

  window.AgentView = { render, clocks, log, banner, codeButtons, CODES };
})();
