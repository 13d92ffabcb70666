// The console's service worker, a bundle of its own served same-origin at /sw.js (scope /). It
// does one thing: show the hub's Web Push notifications and open their link. A notification
// carries no PHI ("Critical alert for a patient of yours" and an opaque link); the console
// fetches what it means after sign-in. The worker caches nothing and intercepts no request.
export {};

interface PushMessage {
  title?: string;
  body?: string;
  url?: string;
  tag?: string;
}

interface WorkerClient {
  url: string;
  focus(): Promise<unknown>;
  navigate(url: string): Promise<unknown>;
}

interface WorkerEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}

interface PushWorkerEvent extends WorkerEvent {
  data: { json(): unknown } | null;
}

interface ClickWorkerEvent extends WorkerEvent {
  notification: { close(): void; data: unknown };
}

declare const self: {
  location: Location;
  registration: {
    showNotification(title: string, options: Record<string, unknown>): Promise<void>;
  };
  clients: {
    claim(): Promise<void>;
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WorkerClient[]>;
    openWindow(url: string): Promise<unknown>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (e: WorkerEvent) => void): void;
  addEventListener(type: 'push', listener: (e: PushWorkerEvent) => void): void;
  addEventListener(type: 'notificationclick', listener: (e: ClickWorkerEvent) => void): void;
};

/** Only a console route of this origin is ever opened. */
function consoleUrl(url: unknown): string {
  const target = typeof url === 'string' && url.startsWith('/#/') ? url : '/';
  return new URL(target, self.location.origin).href;
}

self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let message: PushMessage = {};
  try {
    message = (event.data?.json() ?? {}) as PushMessage;
  } catch {
    // Not JSON: still tell the user something needs their attention.
  }
  event.waitUntil(
    self.registration.showNotification(message.title ?? 'VitalGate', {
      body: message.body ?? 'An alert needs your attention',
      tag: message.tag,
      data: { url: consoleUrl(message.url) },
      icon: '/assets/icon.svg',
      requireInteraction: true,
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = consoleUrl((event.notification.data as { url?: unknown } | null)?.url);
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(async (windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (!open) return self.clients.openWindow(url);
      await open.navigate(url).catch(() => undefined);
      return open.focus();
    }),
  );
});
