/**
 * tocsin.js: the browser client of tocsin's event stream. One ES module, no
 * dependencies, no build step.
 *
 *   import { connect } from "/static/tocsin.js";
 *   const client = connect({ shareKey: vendorId });
 *   client.on("new_notification", ({ data }) => show(data.notification));
 *   client.on("unread", (count) => badge.textContent = String(count));
 *   client.on("state", (state) => dot.dataset.state = state);
 *
 * Transports. `EventSource` on `GET /api/v1/stream`, resuming from the last
 * event id it saw (`last_event_id`). Falls back to long-polling
 * `GET /api/v1/stream/poll` with the same cursor when `EventSource` is missing,
 * when the stream shows no byte for two heartbeat intervals (a proxy that
 * buffers), or after `maxSseFailures` failed connections in a row; while
 * polling it probes the stream again now and then (the probe interval doubles
 * up to `probeMaxSeconds`). Every retry waits a capped exponential backoff with
 * jitter. `EventSource` hides the heartbeat comments, so a byte probe (a
 * `fetch` of the stream that reads its first chunk, the server's `retry:`
 * line) checks that the stream's path delivers bytes, and a stream quiet for
 * two heartbeat intervals is checked against the poll endpoint.
 *
 * Events (`client.on(name, fn)`, `fn(detail, event)`; or `addEventListener`):
 * - `event`: every stream event once, `{id, event, data}`, in order; also
 *   dispatched under its own name: `new_notification`, `notification_update`,
 *   `order_status_update`. Duplicates (same id) are dropped.
 * - `reset`: `{reason}`; the client's cursor moved on, refetch state over REST.
 *   The client refreshes the unread count itself, once, unless a listener
 *   calls `preventDefault()` on the event (`on`'s second argument) to say it
 *   refetches a notification list, whose answer brings the count along.
 * - `state`: `live | polling | reconnecting | offline`.
 * - `unread`: the vendor's unread count (a number).
 * - `unauthorized`: the token or cookie was refused; the client stops.
 *
 * Seen. A notification this tab shows while visible is marked seen
 * (`POST /api/v1/notifications/seen`, batched): one that arrives while the tab
 * is hidden is marked once the tab is shown again. `client.seen(ids)` marks
 * what a page displays by other means (a list); `markSeen: false` turns the
 * automatic marking off. A Web Push waiting for its grace is not sent for a
 * notification that was seen.
 *
 * State over REST: fetch it once `client.positioned` has settled (the client
 * then holds its place in the log, so whatever lands after that fetch arrives
 * as an event and nothing falls between the two). The client's own unread
 * count waits for it. `client.api(path, …)`: JSON in and out; an answer that carries
 * `unread_count` (the notification list's) updates the unread count too.
 *
 * Tabs. With `shareKey` (e.g. the vendor id), tabs of one browser share one
 * connection: the tab holding a Web Lock is the leader and relays events,
 * state and count to the others over a `BroadcastChannel`; when it closes,
 * another tab takes the lock and resumes from the last id it saw. Without
 * Web Locks or BroadcastChannel every tab connects on its own.
 */

export const STATES = Object.freeze(["live", "polling", "reconnecting", "offline"]);
export const EVENTS = Object.freeze(["new_notification", "notification_update", "order_status_update"]);
const RESET = "reset";
const SEEN_MAX = 2000;
// Seen ids are sent in one request per this many ms, at most `SEEN_BATCH` at a time.
const SEEN_DELAY_MS = 250;
const SEEN_BATCH = 1000;

const DEFAULTS = Object.freeze({
  baseUrl: "",
  // A vendor token (or a function returning one, or a Promise of one). Unset:
  // the `tocsin_token` cookie, the right choice on the same origin.
  token: null,
  shareKey: null,
  heartbeatSeconds: 15,
  pollWaitSeconds: 25,
  maxSseFailures: 3,
  probeSeconds: 30,
  probeMaxSeconds: 600,
  backoffBaseMs: 500,
  backoffMaxMs: 30000,
  // "auto": stream, falling back to polling; "poll": never open the stream.
  transport: "auto",
  // Mark notifications seen when this tab shows them (see "Seen" above).
  markSeen: true,
  // `positioned` settles after this long even when the log's head could not be read.
  positionTimeoutMs: 3000,
});

/** A started client. */
export function connect(options = {}) {
  return new TocsinClient(options).start();
}

/** The delay before retry number `attempt` (0-based): capped, doubling, half of it random. */
export function backoff(attempt, baseMs = DEFAULTS.backoffBaseMs, maxMs = DEFAULTS.backoffMaxMs) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

class HttpError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class TocsinClient extends EventTarget {
  constructor(options = {}) {
    super();
    this.options = { ...DEFAULTS, ...options };
    this.state = "reconnecting";
    this.unreadCount = null;
    this.lastEventId = null;
    this.isLeader = false;
    this._seen = new Set();
    this._seenOrder = [];
    this._countVersion = 0;
    this._transport = null;
    this._channel = null;
    this._release = null;
    this._closed = false;
    this._onOnline = () => this._transport && this._transport.wake();
    this._onOffline = () => this.isLeader && this._setState("offline");
    this._shown = new Set();
    this._toShow = new Set();
    this._hiddenArrivals = new Set();
    this._shownTimer = null;
    // Settles once the client holds a position in the log (the leader read its head,
    // or a follower got the leader's): REST state fetched after that misses nothing,
    // since every later event arrives as an event. Fetch initial state after it.
    this._onPositioned = null;
    this._positionTimer = null;
    this.positioned = new Promise((resolve) => {
      this._onPositioned = resolve;
    });
    this._onVisible = () => {
      if (!this._visible() || !this._hiddenArrivals.size) return;
      const ids = [...this._hiddenArrivals];
      this._hiddenArrivals.clear();
      this.seen(ids);
    };
  }

  /** Listen to one of the client's events; `fn` gets the event's detail, and the event. */
  on(type, fn) {
    this.addEventListener(type, (event) => fn(event.detail, event));
    return this;
  }

  start() {
    const key = this.options.shareKey;
    const locks = globalThis.navigator && globalThis.navigator.locks;
    if (key && locks && typeof BroadcastChannel === "function") {
      this._channel = new BroadcastChannel(`tocsin:${key}`);
      this._channel.onmessage = (event) => this._onMessage(event.data);
      locks
        .request(`tocsin:leader:${key}`, () => new Promise((resolve) => {
          this._release = resolve;
          if (this._closed) resolve();
          else this._lead();
        }))
        .catch(() => this._closed || this._lead());
      this._post({ type: "hello" });
    } else {
      this._lead();
    }
    globalThis.addEventListener("online", this._onOnline);
    globalThis.addEventListener("offline", this._onOffline);
    if (this.options.markSeen) {
      this.addEventListener("new_notification", (event) => {
        const n = event.detail && event.detail.data && event.detail.data.notification;
        if (!n || typeof n.id !== "string") return;
        if (this._visible()) this.seen([n.id]);
        else this._hiddenArrivals.add(n.id);
      });
      if (globalThis.document) globalThis.document.addEventListener("visibilitychange", this._onVisible);
    }
    this._positionTimer = setTimeout(() => this._markPositioned(), this.options.positionTimeoutMs);
    this.positioned.then(() => this.refreshUnread()).catch(() => {});
    return this;
  }

  _markPositioned() {
    if (!this._onPositioned) return;
    this._onPositioned();
    this._onPositioned = null;
    clearTimeout(this._positionTimer);
  }

  /** Tell the server this tab displayed notifications `ids` (batched, each id once). */
  seen(ids) {
    for (const id of ids) {
      if (typeof id === "string" && !this._shown.has(id)) this._toShow.add(id);
    }
    if (this._toShow.size && !this._shownTimer && !this._closed) {
      this._shownTimer = setTimeout(() => this._sendSeen(), SEEN_DELAY_MS);
    }
  }

  async _sendSeen() {
    this._shownTimer = null;
    const ids = [...this._toShow].slice(0, SEEN_BATCH);
    for (const id of ids) {
      this._toShow.delete(id);
      this._shown.add(id);
    }
    try {
      await this.api("/api/v1/notifications/seen", { method: "POST", body: { ids } });
    } catch {
      for (const id of ids) this._shown.delete(id);
    }
    if (this._shown.size > SEEN_MAX) this._shown.clear();
    if (this._toShow.size) this.seen([]);
  }

  _visible() {
    const doc = globalThis.document;
    return !doc || doc.visibilityState === "visible";
  }

  close() {
    this._closed = true;
    clearTimeout(this._positionTimer);
    if (this._transport) this._transport.stop();
    this._transport = null;
    if (this._release) this._release();
    if (this._channel) this._channel.close();
    globalThis.removeEventListener("online", this._onOnline);
    globalThis.removeEventListener("offline", this._onOffline);
    if (globalThis.document) globalThis.document.removeEventListener("visibilitychange", this._onVisible);
    clearTimeout(this._shownTimer);
  }

  /** A REST call: `path` under `baseUrl`, JSON in and out; throws with `.status` on errors. */
  async api(path, { method = "GET", body, query } = {}) {
    const version = this._countVersion;
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = await this._token();
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this._url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: token ? "omit" : "include",
      cache: "no-store",
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401) this._unauthorized();
      throw new HttpError(response.status, data);
    }
    // Unless an event brought a newer count meanwhile.
    if (data && version === this._countVersion) this._setUnread(data.unread_count);
    return data;
  }

  /** Fetch the unread count over REST (unless an event brought a newer one meanwhile). */
  async refreshUnread() {
    const version = this._countVersion;
    const answer = await this.api("/api/v1/notifications/unread-count");
    if (version === this._countVersion) this._setUnread(answer.total);
    return this.unreadCount;
  }

  // -- shared by leader and followers --------------------------------------

  _url(path, query) {
    const url = new URL(this.options.baseUrl + path, globalThis.location ? globalThis.location.href : undefined);
    if (query) {
      const entries = query instanceof URLSearchParams ? query.entries() : Object.entries(query);
      for (const [name, value] of entries) {
        if (value === null || value === undefined || value === "") continue;
        for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(one));
      }
    }
    return url;
  }

  async _token() {
    const token = this.options.token;
    return typeof token === "function" ? await token() : token;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _setState(state) {
    if (this._closed || state === this.state) return;
    this.state = state;
    this._emit("state", state);
    if (this.isLeader) this._post({ type: "state", state });
  }

  _setUnread(count) {
    if (typeof count !== "number") return;
    this._countVersion += 1;
    if (count === this.unreadCount) return;
    this.unreadCount = count;
    this._emit("unread", count);
  }

  /** Take one event; false when it was seen before. */
  _accept(event) {
    if (this._seen.has(event.id)) return false;
    this._seen.add(event.id);
    this._seenOrder.push(event.id);
    if (this._seenOrder.length > SEEN_MAX) this._seen.delete(this._seenOrder.shift());
    this.lastEventId = event.id;
    if (event.data && typeof event.data.unread_count === "number") this._setUnread(event.data.unread_count);
    this._emit("event", event);
    this._emit(event.event, event);
    return true;
  }

  /** Go on from `id`, and have the state refetched: by a listener that says so, or here. */
  _applyReset(id, reason) {
    this.lastEventId = id;
    this._seen.clear();
    this._seenOrder = [];
    const event = new CustomEvent(RESET, { detail: { reason }, cancelable: true });
    if (this.dispatchEvent(event)) this.refreshUnread().catch(() => {});
  }

  _unauthorized() {
    if (this._closed) return;
    this._setState("offline");
    this._emit("unauthorized", {});
    if (this._transport) this._transport.stop();
  }

  _post(message) {
    if (this._channel) this._channel.postMessage(message);
  }

  _onMessage(message) {
    if (!message || this._closed) return;
    if (this.isLeader) {
      if (message.type === "hello") {
        this._post({ type: "snapshot", state: this.state, unread: this.unreadCount, lastEventId: this.lastEventId });
      }
      return;
    }
    switch (message.type) {
      case "snapshot":
        if (this.lastEventId === null) this.lastEventId = message.lastEventId;
        this._markPositioned();
        if (message.unread !== null) this._setUnread(message.unread);
        this._setState(message.state);
        break;
      case "state":
        this._setState(message.state);
        break;
      case "event":
        this._accept(message.event);
        break;
      case "reset":
        this._applyReset(message.id, message.reason);
        break;
    }
  }

  // -- the leader ----------------------------------------------------------------

  _lead() {
    if (this._closed || this.isLeader) return;
    this.isLeader = true;
    this._emit("role", "leader");
    this._transport = new Transport(this._link(), this.options);
    this._transport.start();
  }

  /** What the transport may ask of the client, and nothing more (see `Transport`). */
  _link() {
    return Object.freeze({
      url: (path, query) => this._url(path, query),
      token: () => this._token(),
      cursor: () => this.lastEventId,
      startAt: (id) => {
        if (!this.lastEventId) this.lastEventId = id;
        this._markPositioned();
      },
      seen: (id) => this._seen.has(id),
      deliver: (event) => this._deliver(event),
      state: () => this.state,
      setState: (state) => this._setState(state),
      unauthorized: () => this._unauthorized(),
    });
  }

  _deliver(event) {
    if (event.event === RESET) {
      const reason = event.data && event.data.reason;
      this._applyReset(event.id, reason);
      // Every tab refetches its own state, and its count with it.
      this._post({ type: "reset", id: event.id, reason });
      return;
    }
    if (this._accept(event)) this._post({ type: "event", event });
  }
}

/**
 * The leader's connection: the stream, or polling, and the switching between
 * them. It sees its client only through `link`:
 *   url(path, query)  an absolute URL under `baseUrl`
 *   token()           a Promise of the vendor token, or of null (the cookie)
 *   cursor()          the last event id taken, or null
 *   startAt(id)       take `id` (the log's head) as the cursor, unless there is one
 *   seen(id)          whether the event `id` was taken already
 *   deliver(event)    an event `{id, event, data}` of the log, in order; a
 *                     `reset` too (its id is the log's head)
 *   state()           `live | polling | reconnecting | offline`, as shown
 *   setState(state)   show another state
 *   unauthorized()    the token or cookie was refused: the client stops
 */
class Transport {
  constructor(link, options) {
    this.link = link;
    this.options = options;
    this.mode = null;
    this.stopped = false;
    this.failures = 0;
    this.sseFailures = 0;
    this.probeDelay = this.options.probeSeconds;
    this.es = null;
    this.timers = new Set();
    this.controllers = new Set();
    this.wakeUp = null;
    this.generation = 0;
  }

  get heartbeatMs() {
    return this.options.heartbeatSeconds * 1000;
  }

  start() {
    if (typeof EventSource !== "function" || this.options.transport === "poll") this.poll();
    else this.sse();
  }

  stop() {
    this.stopped = true;
    this._teardown();
  }

  /** Cut a backoff wait short (the browser is online again). */
  wake() {
    this.failures = 0;
    this.sseFailures = 0;
    if (this.wakeUp) this.wakeUp();
    else if (this.mode === "sse" && this.link.state() !== "live") this.sse();
  }

  _teardown() {
    this.generation += 1;
    if (this.es) this.es.close();
    this.es = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.controllers) controller.abort();
    this.controllers.clear();
    if (this.wakeUp) this.wakeUp();
  }

  _later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  _sleep(ms) {
    return new Promise((resolve) => {
      const timer = this._later(ms, done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).finally(() => {
      this.wakeUp = null;
    });
  }

  _backoff() {
    const delay = backoff(this.failures, this.options.backoffBaseMs, this.options.backoffMaxMs);
    this.failures += 1;
    return delay;
  }

  _offlineOr(state) {
    return globalThis.navigator && globalThis.navigator.onLine === false ? "offline" : state;
  }

  async _streamUrl(withCursor) {
    const query = {};
    if (withCursor) query.last_event_id = this.link.cursor();
    const token = await this.link.token();
    if (token) query.access_token = token;
    return this.link.url("/api/v1/stream", query);
  }

  // -- Server-Sent Events ------------------------------------------------------

  async sse() {
    this._teardown();
    this.mode = "sse";
    const generation = this.generation;
    let url;
    try {
      // Start from a known position, so the quiet check has a cursor to compare
      // and nothing between the page's REST fetch and the stream is lost.
      if (!this.link.cursor()) this.link.startAt((await this._get({})).last_id);
      url = await this._streamUrl(true);
    } catch {
      if (!this.stopped && generation === this.generation) this._sseFailed();
      return;
    }
    if (this.stopped || generation !== this.generation) return;
    const sameOrigin = !globalThis.location || url.origin === globalThis.location.origin;
    const es = new EventSource(url, { withCredentials: !sameOrigin });
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      this.failures = 0;
      this.sseFailures = 0;
      this.link.setState("live");
      this._armQuietCheck(generation);
    };
    const onEvent = (name) => (message) => {
      if (this.es !== es) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      this.link.deliver({ id: message.lastEventId, event: name, data });
      this._armQuietCheck(generation);
    };
    for (const name of [...EVENTS, RESET]) es.addEventListener(name, onEvent(name));
    es.onerror = () => {
      if (this.es !== es) return;
      this._sseFailed();
    };
    this._probe(false).then((verdict) => {
      if (this.es !== es || generation !== this.generation) return;
      if (verdict === "silent") this.poll();
    });
  }

  /**
   * A stream connection failed. After `maxSseFailures` in a row, poll, but
   * only if the poll endpoint answers: when the whole server is down, polling
   * would not help, and the stream is retried (with backoff) instead.
   */
  async _sseFailed() {
    this._teardown();
    this.sseFailures += 1;
    const generation = this.generation;
    if (this.sseFailures >= this.options.maxSseFailures) {
      try {
        await this._get({});
        if (generation === this.generation && !this.stopped) this.poll();
        return;
      } catch (error) {
        if (error instanceof HttpError && error.status === 401) {
          this.link.unauthorized();
          return;
        }
      }
    }
    if (generation !== this.generation || this.stopped) return;
    this.link.setState(this._offlineOr("reconnecting"));
    this._later(this._backoff(), () => generation === this.generation && !this.stopped && this.sse());
  }

  /**
   * After two heartbeat intervals without an event, ask the poll endpoint
   * whether the log holds events the stream has not delivered: if so (still,
   * a moment later), the stream is stalled or buffered.
   */
  _armQuietCheck(generation) {
    if (this.quietTimer) {
      clearTimeout(this.quietTimer);
      this.timers.delete(this.quietTimer);
    }
    this.quietTimer = this._later(2 * this.heartbeatMs, async () => {
      if (generation !== this.generation || !this.link.cursor()) {
        if (generation === this.generation) this._armQuietCheck(generation);
        return;
      }
      let answer;
      try {
        answer = await this._get({ after: this.link.cursor(), wait: 0, limit: 100 });
      } catch {
        if (generation === this.generation) this._armQuietCheck(generation);
        return;
      }
      const unseen = () => answer.events.filter((e) => !this.link.seen(e.id));
      if (!answer.reset && unseen().length) await this._sleep(1000);
      if (generation !== this.generation) return;
      if (answer.reset || unseen().length) {
        this._take(answer);
        this._sseFailed();
      } else {
        this._armQuietCheck(generation);
      }
    });
  }

  /**
   * Whether the stream's path delivers bytes: "ok" (the first chunk came),
   * "silent" (none in two heartbeat intervals: a buffering proxy), "failed"
   * or "unknown" (no streaming fetch in this browser).
   */
  async _probe(withCursor) {
    if (typeof fetch !== "function" || typeof ReadableStream !== "function") return "unknown";
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), 2 * this.heartbeatMs);
    try {
      const url = await this._streamUrl(withCursor);
      const token = await this.link.token();
      const response = await fetch(url, {
        headers: { Accept: "text/event-stream" },
        credentials: token ? "omit" : "include",
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.status === 401) {
        this.link.unauthorized();
        return "failed";
      }
      if (!response.ok || !response.body) return "failed";
      const reader = response.body.getReader();
      const { value, done } = await reader.read();
      return !done && value && value.length ? "ok" : "failed";
    } catch {
      return controller.signal.aborted && !this.stopped ? "silent" : "failed";
    } finally {
      clearTimeout(timer);
      controller.abort();
      this.controllers.delete(controller);
    }
  }

  // -- long-polling -------------------------------------------------------------

  async _get(query) {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), ((query.wait || 0) + 15) * 1000);
    try {
      const token = await this.link.token();
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const response = await fetch(this.link.url("/api/v1/stream/poll", query), {
        headers,
        credentials: token ? "omit" : "include",
        cache: "no-store",
        signal: controller.signal,
      });
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new HttpError(response.status, data);
      return data;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  _take(answer) {
    if (answer.reset) {
      this.link.deliver({ id: answer.last_id, event: RESET, data: { reason: answer.reason || "unknown" } });
      return;
    }
    for (const event of answer.events) this.link.deliver(event);
  }

  async poll() {
    this._teardown();
    this.mode = "poll";
    const generation = this.generation;
    const live = () => !this.stopped && generation === this.generation;
    if (typeof EventSource === "function" && this.options.transport !== "poll") {
      this._later(this.probeDelay * 1000, () => this._probeAgain(generation));
    }
    let wait = 0;
    while (live()) {
      try {
        if (!this.link.cursor()) {
          const head = await this._get({});
          if (!live()) return;
          this.link.startAt(head.last_id);
        }
        const answer = await this._get({ after: this.link.cursor(), wait, limit: 100 });
        if (!live()) return;
        this._take(answer);
        this.failures = 0;
        this.link.setState("polling");
        wait = this.options.pollWaitSeconds;
      } catch (error) {
        if (!live()) return;
        if (error instanceof HttpError && error.status === 401) {
          this.link.unauthorized();
          return;
        }
        this.link.setState(this._offlineOr("reconnecting"));
        await this._sleep(this._backoff());
        wait = 0;
      }
    }
  }

  async _probeAgain(generation) {
    if (this.stopped || generation !== this.generation) return;
    const verdict = await this._probe(false);
    if (this.stopped || generation !== this.generation) return;
    if (verdict === "ok" || verdict === "unknown") {
      this.probeDelay = this.options.probeSeconds;
      this.sseFailures = 0;
      this.sse();
    } else {
      this.probeDelay = Math.min(this.options.probeMaxSeconds, this.probeDelay * 2);
      this._later(this.probeDelay * 1000, () => this._probeAgain(generation));
    }
  }
}
