// The vendor dashboard: bell, dropdown, toasts, status, lists and preferences,
// on top of tocsin.js. Everything a vendor or publisher wrote goes in as text
// (`textContent`, attributes), never as HTML.

import { connect } from "./tocsin.js";

const TOAST_MS = 6000;
const TOASTS_MAX = 4;

const body = document.body;
// The page's language and clock (the vendor's settings), and its words: the server
// renders them, translated, as JSON in `data-words` (`templates/dashboard/_words.html`).
const LOCALE = body.dataset.locale || "en";
const TIME_ZONE = body.dataset.timezone || "UTC";
const WORDS = JSON.parse(body.dataset.words || "{}");

/** The sentence `key` in the page's language, `{name}`s filled from `values`. */
function t(key, values = {}) {
  const text = (WORDS.words && WORDS.words[key]) || key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}
const client = connect({
  shareKey: body.dataset.vendor,
  heartbeatSeconds: Number(body.dataset.heartbeat) || 15,
});

// -- small helpers ---------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function safeLink(link) {
  if (typeof link !== "string") return null;
  if (link.startsWith("/") && !link.startsWith("//")) return link;
  try {
    const url = new URL(link);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

// The vendor's wall clock: Intl gives the numbers in its zone, the server's CLDR
// patterns (Babel's, as on the pages) write them in its language.
const CLOCK = WORDS.clock || { datetime: "{1}, {0}", date: "y-MM-dd", time: "HH:mm", months: [], am: "AM", pm: "PM" };
const wallClock = new Intl.DateTimeFormat("en-US", {
  timeZone: TIME_ZONE,
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  hourCycle: "h23",
});

function cldr(pattern, date) {
  const p = Object.fromEntries(wallClock.formatToParts(date).map((part) => [part.type, part.value]));
  const [y, month, d, hour, m] = [p.year, Number(p.month), Number(p.day), Number(p.hour) % 24, p.minute];
  const pad = (n) => String(n).padStart(2, "0");
  const fields = {
    y: () => y,
    M: (n) => (n >= 3 ? CLOCK.months[month - 1] || pad(month) : n === 2 ? pad(month) : String(month)),
    d: (n) => (n === 2 ? pad(d) : String(d)),
    H: (n) => (n === 2 ? pad(hour) : String(hour)),
    h: (n) => (n === 2 ? pad(hour % 12 || 12) : String(hour % 12 || 12)),
    m: () => m,
    a: () => (hour < 12 ? CLOCK.am : CLOCK.pm),
  };
  return pattern.replace(/'([^']*)'|([a-zA-Z])\2*/g, (token, quoted, letter) => {
    if (quoted !== undefined) return quoted || "'";
    const field = fields[letter];
    return field ? field(token.length) : token;
  });
}

/** A moment as the vendor's clock shows it (`timeZone` from its settings). */
function localTime(iso) {
  const date = new Date(iso);
  return CLOCK.datetime.replace("{1}", cldr(CLOCK.date, date)).replace("{0}", cldr(CLOCK.time, date));
}

function ago(iso) {
  const then = new Date(iso);
  const seconds = Math.round((Date.now() - then.getTime()) / 1000);
  if (seconds < 45) return t("just_now");
  if (seconds < 3600) return t("minutes_ago", { count: Math.round(seconds / 60) });
  if (seconds < 86400) return t("hours_ago", { count: Math.round(seconds / 3600) });
  return cldr(CLOCK.date, then);
}

function humanType(type) {
  const label = WORDS.types && WORDS.types[type];
  return label || String(type || "").replaceAll("_", " ").replaceAll(".", " ");
}

function humanPriority(priority) {
  return (WORDS.priorities && WORDS.priorities[priority]) || priority;
}

function apiError(error) {
  return (error && error.message) || t("error");
}

// -- one notification, as a list item -------------------------------------------

function notificationItem(n, { selectable = false, compact = false } = {}) {
  const read = Boolean(n.read_at);
  const link = safeLink(n.link);
  const item = h("li", {
    class: `item prio-${n.priority}${read ? "" : " unread"}${compact ? " compact" : ""}`,
    "data-tocsin": "notification",
    "data-id": n.id,
    "data-read": read ? "true" : "false",
  });
  if (selectable) {
    const box = h("input", { type: "checkbox", class: "item-select", "aria-label": t("select", { title: n.title }), "data-id": n.id });
    item.append(h("label", { class: "tap item-pick" }, box));
  }
  item.append(h("span", { class: "item-dot", "aria-hidden": "true" }));
  const main = h("div", { class: "item-main" }, h("span", { class: "item-title", text: n.title }));
  if (n.body && !compact) main.append(h("p", { class: "item-body", text: n.body }));
  const meta = h(
    "div",
    { class: "item-meta" },
    h("span", { class: "chip", text: humanType(n.type) }),
    n.priority !== "normal" ? h("span", { class: `chip prio prio-${n.priority}`, text: humanPriority(n.priority) }) : null,
    h("time", { datetime: n.created_at, title: localTime(n.created_at), text: ago(n.created_at) }),
    n.archived_at ? h("span", { class: "chip", text: t("archived") }) : null,
  );
  if (link) meta.append(h("a", { href: link, class: "item-link", rel: "noopener noreferrer", text: t("open") }));
  main.append(meta);
  item.append(main);
  item.append(
    h("button", {
      type: "button",
      class: "item-toggle linkish",
      "data-toggle-read": n.id,
      text: read ? t("mark_unread") : t("mark_read"),
    }),
  );
  return item;
}

function setItemRead(item, read) {
  item.dataset.read = read ? "true" : "false";
  item.classList.toggle("unread", !read);
  const toggle = $("[data-toggle-read]", item);
  if (toggle) toggle.textContent = read ? t("mark_unread") : t("mark_read");
}

// -- a live list: first page follows the stream ----------------------------------

class ListView {
  constructor(root, { limit, query = {}, selectable = false, compact = false, empty = null, onRender = null }) {
    this.root = root;
    this.limit = limit;
    this.query = query;
    this.selectable = selectable;
    this.compact = compact;
    this.empty = empty;
    this.onRender = onRender;
    this.cursor = null;
    this.nextCursor = null;
    this.items = new Map();
    this.loading = null;
    this.stale = false;
    root.addEventListener("click", (event) => this._click(event));
  }

  get firstPage() {
    return !this.cursor;
  }

  async load(cursor = this.cursor) {
    this.cursor = cursor || null;
    this.stale = false;
    const query = { ...this.query, limit: this.limit, cursor: this.cursor };
    // After the client holds its place in the log: what lands later comes as an event.
    const run = client.positioned
      .then(() => client.api("/api/v1/notifications", { query }))
      .then((page) => {
        if (this.loading !== run) return;
        this.nextCursor = page.next_cursor;
        this.items = new Map(page.items.map((n) => [n.id, n]));
        this.root.replaceChildren(...page.items.map((n) => this._item(n)));
        this._rendered();
      });
    this.loading = run;
    return run;
  }

  /** Reload now if shown (true), or once shown again (false). */
  refresh() {
    if (this.root.closest("[hidden]")) {
      this.stale = true;
      return false;
    }
    this.load().catch(() => {});
    return true;
  }

  _item(n) {
    return notificationItem(n, { selectable: this.selectable, compact: this.compact });
  }

  _rendered() {
    if (this.empty) this.empty.hidden = this.items.size > 0;
    if (document.visibilityState === "visible" && !this.root.closest("[hidden]")) {
      client.seen([...this.items.values()].filter((n) => !n.seen_at).map((n) => n.id));
    }
    if (this.onRender) this.onRender(this);
  }

  matches(n) {
    const q = this.query;
    if (q.archived === true) return false;
    if (q.unread === false) return false;
    if (q.type && q.type !== n.type) return false;
    if (q.priority && q.priority !== n.priority) return false;
    if (q.until && new Date(n.created_at) >= new Date(q.until)) return false;
    if (q.q) {
      const needle = q.q.toLowerCase();
      if (!`${n.title}\n${n.body}`.toLowerCase().includes(needle)) return false;
    }
    return true;
  }

  added(n) {
    if (!this.firstPage || this.items.has(n.id) || !this.matches(n)) return;
    this.items.set(n.id, n);
    this.root.prepend(this._item(n));
    const rows = $$("[data-tocsin='notification']", this.root);
    for (const row of rows.slice(this.limit)) {
      this.items.delete(row.dataset.id);
      row.remove();
    }
    this._rendered();
  }

  updated({ ids, changes }) {
    if (!ids) {
      this.load();
      return;
    }
    for (const id of ids) {
      const item = $(`[data-id="${CSS.escape(id)}"][data-tocsin='notification']`, this.root);
      if (!item) continue;
      if (changes.deleted || (changes.archived === true && this.query.archived === false)) {
        item.remove();
        this.items.delete(id);
      } else if (changes.archived === false && this.query.archived === true) {
        item.remove();
        this.items.delete(id);
      } else if (typeof changes.read === "boolean") {
        setItemRead(item, changes.read);
        const n = this.items.get(id);
        if (n) n.read_at = changes.read ? new Date().toISOString() : null;
      }
    }
    this._rendered();
  }

  async _click(event) {
    const toggle = event.target.closest("[data-toggle-read]");
    if (!toggle) return;
    const id = toggle.dataset.toggleRead;
    const item = toggle.closest("[data-tocsin='notification']");
    const read = item.dataset.read !== "true";
    setItemRead(item, read);
    try {
      await client.api(`/api/v1/notifications/${encodeURIComponent(id)}`, { method: "PATCH", body: { read } });
    } catch (error) {
      setItemRead(item, !read);
      toast({ title: t("update_failed"), body: apiError(error), priority: "high" });
    }
  }
}

const lists = [];

// -- status, bell, menu, toasts ---------------------------------------------------

function initStatus() {
  const status = $("[data-tocsin='status']");
  const word = $(".status-word", status);
  const show = (state) => {
    status.dataset.state = state;
    word.textContent = t(`state.${state}`);
    status.title = state === "polling" ? t("state.polling.title") : t("state.title", { state: word.textContent });
  };
  show(client.state);
  client.on("state", show);
}

function initBell() {
  const bell = $("[data-bell]");
  const badge = $("[data-tocsin='unread-count']");
  const menu = $("[data-menu]");
  const title = document.title;
  const menuList = new ListView($("[data-menu-list]"), {
    limit: 10,
    query: { archived: false },
    compact: true,
    empty: $("[data-menu-empty]"),
  });
  lists.push(menuList);
  menuList.load().catch(() => {});

  client.on("unread", (count) => {
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    bell.setAttribute("aria-label", t("bell", { count }));
    document.title = count > 0 ? `(${count}) ${title}` : title;
  });
  client.on("new_notification", () => {
    bell.classList.remove("pulse");
    void bell.offsetWidth; // restart the animation
    bell.classList.add("pulse");
  });
  bell.addEventListener("animationend", () => bell.classList.remove("pulse"));

  const open = (yes) => {
    menu.hidden = !yes;
    if (yes && menuList.stale) menuList.load().catch(() => {});
    bell.setAttribute("aria-expanded", yes ? "true" : "false");
  };
  bell.addEventListener("click", (event) => {
    event.stopPropagation();
    open(menu.hidden);
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target)) open(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !menu.hidden) {
      open(false);
      bell.focus();
    }
  });
  $("[data-mark-all]").addEventListener("click", async (event) => {
    event.stopPropagation();
    try {
      await client.api("/api/v1/notifications/bulk", { method: "POST", body: { action: "mark_read", all: true } });
    } catch (error) {
      toast({ title: t("mark_all_failed"), body: apiError(error), priority: "high" });
    }
  });
}

const toastBox = $("[data-toasts]");

function toast({ title, body = "", priority = "normal", link = null }) {
  const node = h(
    "div",
    { class: `toast prio-${priority}`, "data-tocsin": "toast", role: priority === "urgent" ? "alert" : null },
    h("div", { class: "toast-text" }, h("strong", { class: "toast-title", text: title }), body ? h("p", { class: "toast-body", text: body }) : null),
  );
  const href = safeLink(link);
  if (href) node.append(h("a", { class: "toast-link", href, rel: "noopener noreferrer", text: t("open") }));
  const close = () => {
    clearTimeout(timer);
    node.remove();
  };
  node.append(h("button", { type: "button", class: "toast-close", "aria-label": t("dismiss"), text: "×", onclick: close }));
  let timer = setTimeout(close, TOAST_MS);
  node.addEventListener("mouseenter", () => clearTimeout(timer));
  node.addEventListener("mouseleave", () => {
    timer = setTimeout(close, TOAST_MS / 2);
  });
  toastBox.append(node);
  const shown = $$("[data-tocsin='toast']", toastBox);
  for (const old of shown.slice(0, Math.max(0, shown.length - TOASTS_MAX))) old.remove();
}

function initLive() {
  client.on("new_notification", ({ data }) => {
    const n = data.notification;
    toast({ title: n.title, body: n.body, priority: n.priority, link: n.link });
    for (const list of lists) list.added(n);
  });
  client.on("notification_update", ({ data }) => {
    for (const list of lists) list.updated(data);
  });
  client.on("order_status_update", ({ data }) => {
    toast({
      title: t("order_status", { order: data.order_id, status: humanType(data.status) }),
      body: data.previous_status ? t("order_was", { status: humanType(data.previous_status) }) : "",
    });
  });
  client.on("reset", (_, event) => {
    // One request per list shown, and none for the count: a list's answer brings it.
    const reloading = lists.map((list) => list.refresh());
    if (reloading.includes(true)) event.preventDefault();
  });
  client.on("unauthorized", () => {
    toast({ title: t("signed_out"), body: t("signed_out.body"), priority: "urgent" });
  });
}

// -- pages ----------------------------------------------------------------------------

function initHome() {
  const list = new ListView($("[data-list]"), {
    limit: Number($("[data-list]").dataset.limit) || 15,
    query: { archived: false },
    empty: $("[data-empty]"),
  });
  lists.push(list);
  list.load().catch((error) => toast({ title: t("load_failed"), body: apiError(error), priority: "high" }));
  const demo = $("[data-demo]");
  if (demo) {
    demo.addEventListener("click", async () => {
      demo.disabled = true;
      try {
        const r = await fetch("/dashboard/demo", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
          credentials: "same-origin",
        });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
      } catch (error) {
        toast({ title: t("demo_failed"), body: apiError(error), priority: "high" });
      } finally {
        setTimeout(() => {
          demo.disabled = false;
        }, 2500);
      }
    });
  }
}

function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function filterQuery(params) {
  const query = { archived: params.get("archived") === "only" };
  const q = params.get("q");
  if (q) query.q = q;
  if (params.get("type")) query.type = params.get("type");
  if (params.get("priority")) query.priority = params.get("priority");
  if (params.get("read") === "unread") query.unread = true;
  if (params.get("read") === "read") query.unread = false;
  if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("since") || "")) query.since = dayStart(params.get("since"));
  if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("until") || "")) query.until = dayStart(params.get("until"), 1);
  return query;
}

function initNotifications() {
  const params = new URLSearchParams(location.search);
  const root = $("[data-list]");
  const selectAll = $("[data-select-all]");
  const count = $("[data-selected-count]");
  const result = $("[data-bulk-result]");
  const older = $("[data-older]");
  const newest = $("[data-newest]");

  const selected = () => $$(".item-select:checked", root).map((box) => box.dataset.id);
  const refreshSelection = () => {
    const ids = selected();
    count.textContent = t("selected", { count: ids.length });
    for (const button of $$("[data-bulk]")) button.disabled = ids.length === 0;
    const boxes = $$(".item-select", root);
    selectAll.checked = boxes.length > 0 && ids.length === boxes.length;
    selectAll.indeterminate = ids.length > 0 && ids.length < boxes.length;
  };

  const list = new ListView(root, {
    limit: Number(root.dataset.limit) || 25,
    query: filterQuery(params),
    selectable: true,
    empty: $("[data-empty]"),
    onRender: (view) => {
      const here = new URLSearchParams(location.search);
      here.delete("cursor");
      newest.hidden = view.firstPage;
      newest.href = `?${here}`;
      older.hidden = !view.nextCursor;
      if (view.nextCursor) {
        here.set("cursor", view.nextCursor);
        older.href = `?${here}`;
      }
      refreshSelection();
    },
  });
  lists.push(list);
  list.load(params.get("cursor")).catch((error) => {
    result.textContent = apiError(error);
  });

  root.addEventListener("change", (event) => {
    if (event.target.matches(".item-select")) refreshSelection();
  });
  selectAll.addEventListener("change", () => {
    for (const box of $$(".item-select", root)) box.checked = selectAll.checked;
    refreshSelection();
  });
  for (const button of $$("[data-bulk]")) {
    button.addEventListener("click", async () => {
      const ids = selected();
      if (!ids.length) return;
      const action = button.dataset.bulk;
      if (action === "delete" && !confirm(t("confirm_delete", { count: ids.length }))) return;
      try {
        const answer = await client.api("/api/v1/notifications/bulk", { method: "POST", body: { action, ids } });
        result.textContent = t("updated", { count: answer.updated });
        await list.load();
      } catch (error) {
        result.textContent = apiError(error);
      }
    });
  }
}

// -- preferences: the vendor's settings, and each type's channels ------------------

const MINUTE = 60;

function minutes(seconds) {
  return String(Math.round((seconds / MINUTE) * 100) / 100);
}

function seconds(input) {
  return Math.max(1, Math.round(Number(input.value) * MINUTE));
}

/** Show or hide `node`, turning its inputs off while hidden (a hidden input must not block a save). */
function showFields(node, yes) {
  node.hidden = !yes;
  for (const input of $$("input, select", node)) input.disabled = !yes;
}

async function initSettings() {
  const form = $("[data-settings]");
  const missing = $("[data-settings-missing]");
  const result = $("[data-settings-result]");
  const quietOn = $("[data-quiet-on]", form);
  const quietTimes = $("[data-quiet-times]", form);
  const field = (name) => $(`[data-setting="${name}"]`, form);
  let settings;
  try {
    settings = await client.api("/api/v1/settings");
  } catch (error) {
    missing.hidden = false;
    if (error.status !== 404 && error.status !== 405) missing.textContent = apiError(error);
    return;
  }
  const fill = (values) => {
    field("locale").value = values.locale;
    field("timezone").value = values.timezone;
    field("digest_hour").value = String(values.digest_hour);
    quietOn.checked = Boolean(values.quiet_hours);
    if (values.quiet_hours) {
      $("[data-quiet-start]", form).value = values.quiet_hours.start;
      $("[data-quiet-end]", form).value = values.quiet_hours.end;
    }
    showFields(quietTimes, quietOn.checked);
  };
  fill(settings);
  quietOn.addEventListener("change", () => showFields(quietTimes, quietOn.checked));
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      locale: field("locale").value,
      timezone: field("timezone").value,
      digest_hour: Number(field("digest_hour").value),
      quiet_hours: quietOn.checked
        ? { start: $("[data-quiet-start]", form).value, end: $("[data-quiet-end]", form).value }
        : null,
    };
    result.textContent = t("saving");
    try {
      const saved = await client.api("/api/v1/settings", { method: "PUT", body });
      // A new language or clock: the page is rendered again in it.
      if (saved.locale !== settings.locale || saved.timezone !== settings.timezone) {
        location.reload();
        return;
      }
      settings = saved;
      fill(saved);
      result.textContent = t("saved");
    } catch (error) {
      result.textContent = apiError(error);
    }
  });
}

async function initPreferences() {
  initSettings();
  const form = $("[data-prefs]");
  const rows = $("[data-prefs-rows]");
  const card = $("[data-pref-template]").content.firstElementChild;
  const channels = $$("[data-channel]", card).map((label) => label.dataset.channel);
  const loading = $("[data-prefs-loading]");
  const missing = $("[data-prefs-missing]");
  const result = $("[data-prefs-result]");
  const order = Object.keys(WORDS.types || {});
  const rank = (type) => (order.includes(type) ? order.indexOf(type) : order.length);
  let prefs;
  try {
    prefs = await client.api("/api/v1/preferences");
  } catch (error) {
    loading.hidden = true;
    missing.hidden = false;
    if (error.status !== 404 && error.status !== 405) missing.textContent = t("prefs.failed", { error: apiError(error) });
    return;
  }
  loading.hidden = true;

  const item = (type, values) => {
    const node = card.cloneNode(true);
    node.dataset.type = type;
    $("[data-type-label]", node).textContent = humanType(type);
    for (const channel of channels) {
      const box = $(`[data-channel-input="${channel}"]`, node);
      box.name = `${type}.${channel}`;
      box.checked = Boolean(values[channel]);
    }
    const mode = $("[data-email-mode]", node);
    mode.closest("label").hidden = !("email_mode" in values);
    mode.value = values.email_mode || "instant";
    const escalate = $("[data-escalate]", node);
    const after = $$("[data-escalate-field]", node);
    escalate.closest("label").hidden = !("escalate" in values);
    const on = Boolean(values.escalate);
    escalate.value = on ? "on" : "off";
    $("[data-push-after]", node).value = minutes(on ? values.escalate.push_after_s : 60);
    $("[data-sms-after]", node).value = minutes(on ? values.escalate.sms_after_s : 900);
    const toggle = () => {
      for (const label of after) showFields(label, "escalate" in values && escalate.value === "on");
    };
    escalate.addEventListener("change", toggle);
    toggle();
    return node;
  };
  const render = (values) => {
    const types = Object.keys(values).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    prefs = values;
    rows.replaceChildren(...types.map((type) => item(type, values[type])));
  };
  render(prefs);
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const node of $$("[data-type]", rows)) {
      const type = node.dataset.type;
      const choice = {};
      for (const channel of channels) choice[channel] = $(`[data-channel-input="${channel}"]`, node).checked;
      if ("email_mode" in prefs[type]) choice.email_mode = $("[data-email-mode]", node).value;
      if ("escalate" in prefs[type]) {
        choice.escalate =
          $("[data-escalate]", node).value === "on"
            ? { push_after_s: seconds($("[data-push-after]", node)), sms_after_s: seconds($("[data-sms-after]", node)) }
            : null;
      }
      body[type] = choice;
    }
    result.textContent = t("saving");
    try {
      const saved = await client.api("/api/v1/preferences", { method: "PUT", body });
      if (saved && typeof saved === "object") render(saved);
      result.textContent = t("saved");
    } catch (error) {
      result.textContent = apiError(error);
    }
  });
}

// -- Web Push on this device ------------------------------------------------------

const SW_URL = "/static/tocsin-sw.js";

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function applicationServerKey(base64url) {
  const base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function deviceName() {
  const ua = navigator.userAgent;
  const os = /iPhone|iPad/.test(ua) ? "iPhone/iPad" : /Android/.test(ua) ? "Android" : /Mac/.test(ua) ? "Mac" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "Device";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "browser";
  return `${browser} on ${os}`;
}

async function activeRegistration() {
  const registration = await navigator.serviceWorker.register(SW_URL);
  const worker = registration.installing || registration.waiting;
  if (!registration.active && worker) {
    await new Promise((resolve) => {
      worker.addEventListener("statechange", () => worker.state === "activated" && resolve());
    });
  }
  return registration;
}

function initPush() {
  const key = body.dataset.vapidKey;
  const panel = $("[data-push]");
  if (!panel || !key) return;
  const state = $("[data-push-state]", panel);
  const enable = $("[data-push-enable]", panel);
  const disable = $("[data-push-disable]", panel);
  panel.hidden = false;
  const show = (name, text) => {
    panel.dataset.state = name;
    state.textContent = text;
    enable.hidden = !(name === "off" || name === "error");
    disable.hidden = name !== "on";
  };
  if (!pushSupported()) {
    show("unsupported", t("push.unsupported"));
    return;
  }
  const save = (subscription) =>
    client.api("/api/v1/push/subscriptions", { method: "POST", body: { ...subscription.toJSON(), device: deviceName() } });

  const refresh = async () => {
    if (Notification.permission === "denied") {
      show("denied", t("push.denied"));
      return;
    }
    const registration = await navigator.serviceWorker.getRegistration(SW_URL);
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (subscription && Notification.permission === "granted") {
      await save(subscription); // renews it, and moves it to this vendor
      show("on", t("push.on"));
    } else {
      show("off", t("push.off"));
    }
  };
  enable.addEventListener("click", async () => {
    enable.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        await refresh();
        return;
      }
      const registration = await activeRegistration();
      const subscription =
        (await registration.pushManager.getSubscription()) ||
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey(key) }));
      await save(subscription);
      show("on", t("push.on"));
    } catch (error) {
      show("error", t("push.on_failed", { error: apiError(error) }));
    } finally {
      enable.disabled = false;
    }
  });
  disable.addEventListener("click", async () => {
    disable.disabled = true;
    try {
      const registration = await navigator.serviceWorker.getRegistration(SW_URL);
      const subscription = registration && (await registration.pushManager.getSubscription());
      if (subscription) {
        const listed = await client.api("/api/v1/push/subscriptions");
        const mine = listed.items.find((s) => s.endpoint === subscription.endpoint);
        if (mine) await client.api(`/api/v1/push/subscriptions/${encodeURIComponent(mine.id)}`, { method: "DELETE" });
        await subscription.unsubscribe();
      }
      show("off", t("push.off"));
    } catch (error) {
      show("error", t("push.off_failed", { error: apiError(error) }));
    } finally {
      disable.disabled = false;
    }
  });
  refresh().catch((error) => show("error", t("push.check_failed", { error: apiError(error) })));
}

initStatus();
initBell();
initLive();
initPush();
({ home: initHome, notifications: initNotifications, preferences: initPreferences })[body.dataset.page]?.();
