// Administration: a campaign form that shows each compliance refusal next to its field, a
// contact upload with a progress bar and the rejected rows by line, and the do-not-call list.
"use strict";
(function () {
  const { api, cookie, el, replace } = window.Outdial;
  const $ = (id) => document.getElementById(id);
  const num = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  const text = (id) => ($(id).value.trim() === "" ? undefined : $(id).value.trim());

  function spec() {
    const mode = $("c-mode").value;
    const s = {
      name: $("c-name").value.trim(), mode, zone: text("c-zone"),
      lines_per_agent: mode === "progressive" || mode === "predictive" ? num("c-lines") : undefined,
      nuisance: num("c-cap") === undefined ? undefined : { cap_pct: num("c-cap") },
      calling_hours: { start: $("c-start").value, end: $("c-end").value, default_tz: text("c-tz") },
      caller_id: text("c-cid"), abandon_message: text("c-msg"), ring_timeout_ms: num("c-ring"),
    };
    if (mode === "agentless") s.agentless = { rate_cps: num("c-cps"), max_concurrent: num("c-conc") };
    if ($("c-load").checked) {
      s.load_test = true;
      s.test_ranges = ($("c-ranges").value || "").split(",").map((r) => r.trim()).filter(Boolean);
    }
    return JSON.parse(JSON.stringify(s)); // drops the undefined keys
  }

  // "nuisance.cap_pct: at most 3 … [code]" goes to the field whose key is the longest prefix.
  function fieldFor(detail) {
    const key = detail.split(":")[0].trim();
    let best = null;
    for (const f of document.querySelectorAll("#campaign .field[data-key]")) {
      const k = f.dataset.key;
      if ((key === k || key.startsWith(`${k}.`) || k.startsWith(`${key}.`)) && (!best || k.length > best.dataset.key.length)) best = f;
    }
    return best;
  }

  function clearErrors() {
    for (const p of document.querySelectorAll("#campaign .field-error")) p.remove();
    for (const i of document.querySelectorAll("#campaign [aria-invalid]")) { i.removeAttribute("aria-invalid"); i.removeAttribute("aria-describedby"); }
    replace($("campaign-errors"));
  }

  function showErrors(e) {
    const details = e.details && e.details.length ? e.details : [e.message];
    let n = 0;
    for (const d of details) {
      const f = fieldFor(d);
      if (!f) { $("campaign-errors").append(el("li", { text: d })); continue; }
      const id = `err-${n++}`;
      f.append(el("p", { class: "error field-error", id, "data-refusal": (d.match(/\[([a-z0-9-]+)\]$/) || [])[1] || "", text: d }));
      const input = f.querySelector("input, select");
      if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", id); }
    }
    const first = document.querySelector("#campaign [aria-invalid]");
    if (first) first.focus();
  }

  async function createCampaign(ev) {
    ev.preventDefault();
    clearErrors();
    $("campaign-result").textContent = "Checking…";
    try {
      const r = await api("POST", "/v1/campaigns", spec());
      $("campaign-result").textContent = `Created campaign ${r.campaign}, job ${r.job}.`;
      await loadJobs(r.job);
    } catch (e) {
      $("campaign-result").textContent = `Refused: ${e.message}`;
      showErrors(e);
    }
  }

  async function loadJobs(select) {
    const campaigns = await api("GET", "/v1/campaigns");
    const opts = [];
    for (const c of campaigns) for (const j of c.jobs) opts.push(el("option", { value: j.id, text: `job ${j.id} · ${c.name} (${j.state})` }));
    replace($("u-job"), opts.reverse());
    if (select) $("u-job").value = String(select);
  }

  function upload(ev) {
    ev.preventDefault();
    const file = $("u-file").files[0];
    if (!file) { $("upload-result").textContent = "Choose a CSV file first."; return; }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/jobs/${$("u-job").value}/contacts`);
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("X-CSRF-Token", cookie("outdial_csrf"));
    xhr.upload.onprogress = (p) => { if (p.lengthComputable) $("u-progress").value = Math.round((100 * p.loaded) / p.total); };
    xhr.onload = () => {
      let r = {};
      try { r = JSON.parse(xhr.responseText); } catch (_) { r = {}; }
      if (xhr.status >= 400) { $("upload-result").textContent = `Refused: ${r.error || xhr.status}`; return; }
      $("u-progress").value = 100;
      $("upload-result").textContent = `Imported ${r.imported}, rejected ${r.rejected} (${r.duplicates || 0} duplicates).`;
      const rows = (r.errors || []).map((x) => el("tr", {}, el("td", { text: x.line }), el("td", { text: x.reason })));
      replace($("upload-errors").tBodies[0], rows);
      $("upload-errors").hidden = rows.length === 0;
    };
    xhr.onerror = () => { $("upload-result").textContent = "The upload failed: no answer from the node."; };
    $("upload-result").textContent = "Uploading…";
    xhr.send(file);
  }

  async function addDnc(ev) {
    ev.preventDefault();
    const numbers = $("d-numbers").value.split(/\s+/).map((x) => x.trim()).filter(Boolean);
    try {
      const r = await api("POST", "/v1/dnc", numbers);
      $("dnc-result").textContent = `Added: ${JSON.stringify(r)}`;
      $("d-numbers").value = "";
    } catch (e) {
      $("dnc-result").textContent = `Refused: ${e.message}${e.details && e.details.length ? ` (${e.details.join("; ")})` : ""}`;
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    let me;
    try { me = await api("GET", "/v1/whoami"); } catch (_) { $("need-login").hidden = false; return; }
    if (me.role !== "supervisor" && me.role !== "admin") { $("need-login").hidden = false; return; }
    $("who").textContent = `${me.name} (${me.role})`;
    $("admin").hidden = false;
    $("campaign").addEventListener("submit", createCampaign);
    $("upload").addEventListener("submit", upload);
    $("dnc").addEventListener("submit", addDnc);
    try { await loadJobs(); } catch (e) { $("upload-result").textContent = e.message; }
  });
})();
