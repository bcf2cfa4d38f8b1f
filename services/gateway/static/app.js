// The reference admin page of pic-store: plain DOM and fetch, no framework, no build step.
// Everything goes through the gateway's API (its OpenAPI document at /openapi.json), with the
// API token in this tab's sessionStorage only. The live stream is read with fetch (an
// EventSource cannot send the token), resumed with Last-Event-ID after a break.
"use strict";

const state = { token: sessionStorage.getItem("pic-token") || "", store: null, events: [],
  watchers: new Set(), lastEventId: null };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    signOut();
    throw new Error("the token was refused: sign in again");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(describe(data) || `HTTP ${response.status}`);
  return data;
}

function describe(data) {
  // FastAPI's errors: {"detail": "text"} or {"detail": [{"loc": [...], "msg": "..."}]}.
  if (!data || data.detail === undefined) return null;
  if (typeof data.detail === "string") return data.detail;
  return data.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
}

// ---- screens ---------------------------------------------------------------------------

const SCREENS = { store: loadStore, services: loadServices, peers: loadPeers,
  backups: loadBackups, routes: loadRoutes };

function route() {
  if (!state.token) {
    for (const name of Object.keys(SCREENS)) $(name).hidden = true;
    $("login").hidden = false;
    return;
  }
  $("login").hidden = true;
  const name = (location.hash || "#store").slice(1);
  const screen = SCREENS[name] ? name : "store";
  for (const other of Object.keys(SCREENS)) $(other).hidden = other !== screen;
  for (const link of document.querySelectorAll("nav a"))
    link.classList.toggle("current", link.dataset.screen === screen);
  showError("");
  SCREENS[screen]().catch((error) => showError(error.message));
}

function signOut() {
  state.token = "";
  sessionStorage.removeItem("pic-token");
  route();
}

// ---- store -------------------------------------------------------------------------------

async function loadStore() {
  const catalog = await api("GET", "/catalog");
  state.store = catalog.store;
  $("store-source").textContent = `${catalog.store}: ${catalog.source}`;
  const cards = $("catalog");
  cards.replaceChildren();
  for (const service of catalog.services) {
    const flags = ["subdomain", "accounts", "admin_config", "storage", "egress"]
      .filter((flag) => service[`has_${flag}`]).join(" · ");
    const status = service.installed_version
      ? el("span", { class: service.update_available ? "badge update" : "badge",
        text: service.update_available ? `update from ${service.installed_version}`
          : `installed ${service.installed_version}` })
      : null;
    cards.append(el("div", { class: "card", "data-service": service.id,
      onclick: () => openService(service.id) },
      el("h3", { text: `${service.name} ` }, el("small", { class: "muted", text: service.version || "" })),
      el("p", { text: service.description }),
      el("div", { class: "flags", text: flags }), status));
  }
}

async function openService(id, installed = null) {
  // `installed`: the service's view (GET /services): its settings fill the form, and the
  // button reconfigures it instead of installing.
  showError("");
  const detail = await api("GET", `/catalog/${encodeURIComponent(id)}?store=${encodeURIComponent(state.store)}`);
  const article = $("detail");
  article.hidden = false;
  article.dataset.service = id;
  $("detail-title").textContent = `${detail.service.name} ${detail.service.version || ""}`;
  $("detail-description").textContent = detail.service.description;
  $("plan").hidden = true;
  $("steps").replaceChildren();
  $("outcome").replaceChildren();
  drawForm($("settings-fields"), detail.settings_form, installed ? installed.config : {});
  drawEgress($("egress-field"), detail.egress);
  article.dataset.mode = installed ? "reconfigure" : "install";
  $("install-button").textContent = installed ? "Reconfigure" : "Install";
  article.scrollIntoView();
}

function drawForm(fieldset, schema, current = {}) {
  // The settings form is the service's config_schema as JSON Schema: one input per property.
  fieldset.replaceChildren();
  const properties = (schema && schema.properties) || {};
  for (const [key, prop] of Object.entries(properties)) {
    const title = prop.title || key;
    const hint = prop.description ? el("small", { text: prop.description }) : null;
    let input;
    const value = current[key];
    if (prop.type === "boolean") {
      input = el("input", { type: "checkbox", name: key,
        checked: value === undefined ? prop.default === true : value === true });
      fieldset.append(el("label", { class: "check" }, input, document.createTextNode(title), hint));
      continue;
    }
    if (Array.isArray(prop.enum)) {
      input = el("select", { name: key });
      for (const option of prop.enum)
        input.append(el("option", { value: option, text: option,
          selected: option === (value === undefined ? prop.default : value) }));
    } else {
      const number = prop.type === "integer" || prop.type === "number";
      input = el("input", {
        name: key,
        type: prop.writeOnly || prop.format === "password" ? "password" : number ? "number" : "text",
        min: prop.minimum, max: prop.maximum, maxlength: prop.maxLength, pattern: prop.pattern,
        step: prop.type === "integer" ? 1 : undefined,
        placeholder: prop.default !== undefined ? String(prop.default) : "",
        autocomplete: "off",
      });
      // A secret's stored value is masked in the view: left empty, it stays as it is.
      if (value !== undefined && !(prop.writeOnly || prop.format === "password")) input.value = String(value);
    }
    input.dataset.type = prop.type || "string";
    fieldset.append(el("label", {}, document.createTextNode(title), input, hint));
  }
}

function drawEgress(box, egress) {
  box.replaceChildren();
  if (!egress) return;
  const select = el("select", { name: "egress", id: "egress" });
  for (const choice of egress.choices)
    select.append(el("option", { value: choice, text: choice, selected: choice === (egress.in_use || egress.default) }));
  box.append(el("label", {}, document.createTextNode("Outbound connection"), select));
}

function formValues() {
  // Only what the admin typed or changed: the rest takes the manifest's defaults.
  const config = {};
  for (const input of $("settings-fields").querySelectorAll("input, select")) {
    const type = input.dataset.type;
    if (type === "boolean") config[input.name] = input.checked;
    else if (input.value === "") continue;
    else if (type === "integer") config[input.name] = Number.parseInt(input.value, 10);
    else if (type === "number") config[input.name] = Number(input.value);
    else config[input.name] = input.value;
  }
  const egress = $("egress");
  return { config, egress: egress ? egress.value : null };
}

async function showPlan() {
  const id = $("detail").dataset.service;
  const { config, egress } = formValues();
  const plan = await api("POST", `/catalog/${encodeURIComponent(id)}/plan`,
    { store: state.store, config, egress });
  $("plan").hidden = false;
  $("plan").textContent = `${plan.message}\n\n${JSON.stringify(plan.plan, null, 2)}`;
}

async function install(event) {
  event.preventDefault();
  const id = $("detail").dataset.service;
  const { config, egress } = formValues();
  $("steps").replaceChildren();
  $("outcome").textContent = "installing…";
  $("install-button").disabled = true;
  try {
    const reconfigure = $("detail").dataset.mode === "reconfigure";
    const accepted = reconfigure
      ? await api("POST", `/services/${encodeURIComponent(id)}/reconfigure`, { config, egress })
      : await api("POST", `/services/${encodeURIComponent(id)}/install`,
        { store: state.store, config, egress });
    const result = await follow(accepted.operation_id, $("steps"));
    await showOutcome(id, result);
  } finally {
    $("install-button").disabled = false;
  }
}

async function showOutcome(id, result) {
  const outcome = $("outcome");
  outcome.replaceChildren(el("span", { text: `${result.status}: ${result.message} ` }));
  if (result.status !== "succeeded") return;
  const status = await api("GET", `/services/${encodeURIComponent(id)}`);
  for (const url of status.urls || [])
    outcome.append(el("a", { href: url, target: "_blank", rel: "noopener", text: url }));
}

// ---- the live stream ---------------------------------------------------------------------

function follow(operationId, list) {
  // Every step of the operation as it arrives (kept from the stream, so none is missed if it
  // came before the install's answer), until its result.
  return new Promise((resolve) => {
    const seen = new Map();
    const watcher = (event) => {
      if (event.operation_id !== operationId) return;
      if (event.type === "installer.progress") {
        const p = event.payload;
        let item = seen.get(p.step);
        if (!item) {
          item = el("li", { "data-step": p.step });
          seen.set(p.step, item);
          list.append(item);
        }
        item.className = p.status;
        item.textContent = `${p.step}: ${p.status}${p.message ? ` (${p.message})` : ""}`;
      } else if (event.type === "installer.result") {
        // A step's last word may come just after the result: keep listening a moment.
        setTimeout(() => state.watchers.delete(watcher), 10000);
        resolve(event.payload);
      }
    };
    state.watchers.add(watcher);
    for (const event of state.events) watcher(event);
  });
}

async function listen() {
  // The gateway's /events, read as a stream; on a break, again from the last id it gave.
  while (true) {
    if (!state.token) { await sleep(500); continue; }
    try {
      const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const response = await fetch("/events", { headers });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      $("live").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll("\r\n", "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // A break: the loop resumes from the last id.
    }
    $("live").textContent = "offline";
    await sleep(1000);
  }
}

function dispatch(block) {
  let id = null;
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (id) state.lastEventId = id;
  if (!data) return;
  let event;
  try { event = JSON.parse(data); } catch { return; }
  if (!event.type) return;
  state.events.push(event);
  if (state.events.length > 500) state.events.shift();
  for (const watcher of [...state.watchers]) watcher(event);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- services ------------------------------------------------------------------------------

async function loadServices() {
  const services = await api("GET", "/services");
  const rows = $("services-rows");
  rows.replaceChildren();
  for (const service of services) {
    const output = $("service-output");
    const show = (text) => { output.hidden = false; output.textContent = text; };
    rows.append(el("tr", { "data-service": service.service_id },
      el("td", { text: service.service_id }), el("td", { text: service.version || "" }),
      el("td", { text: service.state }), el("td", { text: service.updated || "" }),
      el("td", {},
        el("button", { type: "button", text: "Logs", onclick: async () => {
          const logs = await api("GET", `/services/${service.service_id}/logs?tail=100`);
          show(Object.entries(logs.containers).map(([name, c]) =>
            `== ${name}${c.truncated ? " (cut to the bounds)" : ""}\n${c.lines.join("\n")}`).join("\n\n"));
        } }),
        el("button", { type: "button", text: "Reconfigure", onclick: () => {
          location.hash = "#store";
          setTimeout(() => openService(service.service_id, service)
            .catch((e) => showError(e.message)), 100);
        } }),
        el("button", { type: "button", text: "Remove", onclick: async () => {
          if (!confirm(`Remove ${service.service_id}? Its data stays unless purged.`)) return;
          const accepted = await api("DELETE", `/services/${service.service_id}`);
          const steps = el("ol");
          show("");
          output.replaceChildren(steps);
          const result = await follow(accepted.operation_id, steps);
          output.append(el("p", { text: `${result.status}: ${result.message}` }));
          await loadServices();
        } }))));
  }
}

// ---- peers ---------------------------------------------------------------------------------

async function loadPeers() {
  const peers = await api("GET", "/peers");
  const list = $("peers-list");
  list.replaceChildren();
  for (const peer of peers) {
    const name = peer.name || peer;
    list.append(el("li", { "data-peer": name }, el("span", { text: `${name} ` }),
      el("button", { type: "button", text: "Configs", onclick: async () => {
        const configs = await api("GET", `/peers/${encodeURIComponent(name)}/configs`);
        $("peer-configs").hidden = false;
        $("peer-configs").textContent = JSON.stringify(configs, null, 2);
      } }),
      el("button", { type: "button", text: "Remove", onclick: async () => {
        if (!confirm(`Remove the peer ${name}? Its accounts go.`)) return;
        await api("DELETE", `/peers/${encodeURIComponent(name)}`);
        await loadPeers();
      } })));
  }
}

async function addPeer(event) {
  event.preventDefault();
  await api("POST", "/peers", { name: $("peer-name").value });
  $("peer-name").value = "";
  await loadPeers();
}

// ---- backups -------------------------------------------------------------------------------

async function loadBackups() {
  const [backups, services] = await Promise.all([api("GET", "/backups"), api("GET", "/services")]);
  const select = $("backup-service");
  select.replaceChildren(...services.map((s) => el("option", { value: s.service_id, text: s.service_id })));
  const rows = $("backups-rows");
  rows.replaceChildren();
  const output = $("backup-output");
  const show = (data) => { output.hidden = false; output.textContent = JSON.stringify(data, null, 2); };
  for (const backup of backups) {
    const path = `/backups/${encodeURIComponent(backup.service_id)}/${encodeURIComponent(backup.backup_id)}`;
    rows.append(el("tr", {},
      el("td", { text: backup.backup_id }), el("td", { text: backup.service_id }),
      el("td", { text: backup.created || "" }), el("td", { text: String(backup.size ?? "") }),
      el("td", {},
        el("button", { type: "button", text: "Verify", onclick: async () => show(await api("POST", `${path}/verify`, {})) }),
        el("button", { type: "button", text: "Restore", onclick: async () => {
          if (!confirm(`Restore ${backup.service_id} from ${backup.backup_id}, replacing its data?`)) return;
          show(await api("POST", `${path}/restore`, { replace: true }));
        } }))));
  }
}

async function runBackup(event) {
  event.preventDefault();
  const service = $("backup-service").value;
  $("backup-output").hidden = false;
  $("backup-output").textContent = `backing up ${service}…`;
  $("backup-output").textContent = JSON.stringify(
    await api("POST", `/backups/${encodeURIComponent(service)}?wait=300`, {}), null, 2);
  await loadBackups();
}

// ---- routes --------------------------------------------------------------------------------

async function loadRoutes() {
  $("routes-report").textContent = JSON.stringify(await api("GET", "/routes"), null, 2);
}

// ---- start ---------------------------------------------------------------------------------

function guard(handler) {
  return (event) => Promise.resolve(handler(event)).catch((error) => showError(error.message));
}

window.addEventListener("hashchange", route);
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("pic-token", state.token);
  $("token").value = "";
  route();
});
$("settings-form").addEventListener("submit", guard(install));
$("plan-button").addEventListener("click", guard(showPlan));
$("peer-form").addEventListener("submit", guard(addPeer));
$("backup-form").addEventListener("submit", guard(runBackup));
route();
listen();
