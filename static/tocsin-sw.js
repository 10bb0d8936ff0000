// tocsin's service worker: a Web Push becomes a system notification, unless a
// dashboard tab is visible (that tab shows the notification live, and marks it
// seen); a click opens the notification's link, or the dashboard.
//
// The push's data is JSON: {id, type, title, body, link, priority} (see
// `tocsin.delivery.push`). Text goes into the notification as text; a link is
// followed only if it is a path or an http(s) URL.

const DASHBOARD = "/dashboard";
const ICON = "/static/icons/icon-192.png";
const BADGE = "/static/icons/badge-96.png";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function safeLink(link) {
  if (typeof link !== "string" || !link) return null;
  try {
    const url = new URL(link, self.location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function isDashboard(client) {
  const path = new URL(client.url).pathname;
  return path === DASHBOARD || path.startsWith(`${DASHBOARD}/`);
}

async function dashboardVisible() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return windows.some((client) => client.visibilityState === "visible" && isDashboard(client));
}

function parse(data) {
  if (!data) return {};
  try {
    const value = data.json();
    return value && typeof value === "object" ? value : {};
  } catch {
    return { body: data.text() };
  }
}

async function onPush(event) {
  const push = parse(event.data);
  if (await dashboardVisible()) return;
  const title = typeof push.title === "string" && push.title ? push.title : "New notification";
  await self.registration.showNotification(title, {
    body: typeof push.body === "string" ? push.body : "",
    tag: typeof push.id === "string" ? push.id : undefined,
    icon: ICON,
    badge: BADGE,
    requireInteraction: push.priority === "urgent",
    data: { id: typeof push.id === "string" ? push.id : null, link: safeLink(push.link) },
  });
}

async function open(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = windows.find((client) => client.url === url);
  if (same) return same.focus();
  return self.clients.openWindow(url);
}

self.addEventListener("push", (event) => event.waitUntil(onPush(event)));

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(open(data.link || new URL(DASHBOARD, self.location.origin).href));
});
