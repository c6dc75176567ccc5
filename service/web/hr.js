// The HR office's task page: lists the office's open tasks (GET /v1/issuers/{issuer}/tasks with
// the office's bearer token) and approves or declines them (POST .../tasks/{id}/approve or
// /decline), then lists the rules adopted (GET /v1/rules). Nothing is stored in the browser.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function status(text, state) {
    const s = $("status");
    s.textContent = text;
    s.dataset.state = state;
  }

  async function call(method, path, body) {
    const headers = { authorization: "Bearer " + $("token").value };
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((json.error && json.error.message) || "HTTP " + r.status);
    return json;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function button(label, action, task) {
    const b = document.createElement("button");
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.task = task;
    b.type = "button";
    b.addEventListener("click", () => close(task, action));
    return b;
  }

  async function close(id, action) {
    const issuer = encodeURIComponent($("issuer").value);
    try {
      const done = await call("POST", `/v1/issuers/${issuer}/tasks/${encodeURIComponent(id)}/${action}`, {});
      const what = done.credentials.length ? ` (credentials ${done.credentials.join(", ")})` : "";
      await load();
      if (done.proposal !== undefined) {
        status(`Task ${id}: its credential is proposed to the committee (proposal ${done.proposal}); approve the task again once the members have approved it.`, "done");
      } else {
        status(`Task ${id} ${done.task.state}${what}.`, "done");
      }
      document.body.dataset.closed = String(Number(document.body.dataset.closed || "0") + 1);
    } catch (e) {
      status(`Task ${id}: ${e.message}`, "error");
    }
  }

  async function load() {
    const issuer = encodeURIComponent($("issuer").value);
    const table = $("tasks");
    table.textContent = "";
    try {
      const list = await call("GET", `/v1/issuers/${issuer}/tasks`);
      const head = table.insertRow();
      for (const h of ["task", "for", "credential", "what", ""]) cell(head, h);
      for (const { id, task } of list.tasks) {
        const row = table.insertRow();
        row.dataset.task = id;
        cell(row, id);
        cell(row, task.party);
        cell(row, String(task.credential_id));
        cell(row, task.proposed ? `${task.title} (awaiting the committee: proposal ${task.proposed.proposal})` : task.title);
        const actions = cell(row, "");
        actions.appendChild(button("Approve", "approve", id));
        actions.appendChild(button("Decline", "decline", id));
      }
      status(`${list.tasks.length} open task(s).`, "ok");
      const rules = await (await fetch("/v1/rules")).json();
      const rt = $("rules");
      rt.textContent = "";
      for (const r of rules.rules.filter((r) => r.issuer === $("issuer").value)) {
        const row = rt.insertRow();
        cell(row, r.name);
        cell(row, r.state);
        cell(row, "from " + r.from);
        cell(row, r.rule.slice(0, 16) + "…");
      }
    } catch (e) {
      status(e.message, "error");
    }
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || "0") + 1);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (ev) => {
      ev.preventDefault();
      load();
    });
    document.body.dataset.ready = "1";
  });
})();
