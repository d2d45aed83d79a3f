/**
 * Small DOM helpers shared by the views.
 */

type Child = Node | string | number | null | undefined | false;

/**
 * Make an element. `class` sets the class name, `dataset` the data-*
 * attributes, `on<event>` adds a listener; other props become attributes
 * (skipped when null, undefined or false).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (key === 'class') {
      el.className = String(value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined && v !== null) {
          el.dataset[k] = String(v);
        }
      }
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A status badge holding the raw status text (`.jp-orch-status`). */
export function statusBadge(status: string | null | undefined): HTMLElement {
  const text = status ?? 'unknown';
  return h(
    'span',
    { class: `jp-orch-status jp-orch-status-${text.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`, title: text },
    text
  );
}

function parseTime(value: string | number | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const d = new Date(value);
  return isNaN(d.getTime()) ? null : d;
}

/** Short local time: `14:03:07` today, else `24 Nov 14:03`. */
export function shortTime(value: string | number | null | undefined): string {
  const d = parseTime(value);
  if (!d) {
    return '';
  }
  const now = new Date();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (d.toDateString() === now.toDateString()) {
    return time;
  }
  const date = d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
  return `${date} ${time.slice(0, 5)}`;
}

/** `<time>` with a short label and the full time as its tooltip. */
export function timeEl(value: string | null | undefined, prefix = ''): HTMLElement | null {
  const d = parseTime(value);
  if (!d) {
    return null;
  }
  return h('time', { datetime: String(value), title: d.toLocaleString() }, `${prefix}${shortTime(value)}`);
}

/** Human duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (!isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  }
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Duration between two times (or from start until now). */
export function durationBetween(start: string | null | undefined, end: string | null | undefined): string {
  const a = parseTime(start);
  if (!a) {
    return '';
  }
  const b = parseTime(end) ?? new Date();
  return formatDuration(b.getTime() - a.getTime());
}

/** A time relative to now: `in 5 min`, `3 h ago`. */
export function relativeTime(value: string | null | undefined): string {
  const d = parseTime(value);
  if (!d) {
    return '';
  }
  const diff = d.getTime() - Date.now();
  const words = formatDuration(Math.abs(diff)).replace(/\.\d s$/, ' s');
  return diff >= 0 ? `in ${words}` : `${words} ago`;
}

/** Show `msg` in an error element, or hide the element when `msg` is empty. */
export function showError(el: HTMLElement, msg: string): void {
  el.textContent = msg;
  el.hidden = !msg;
}

export function shortId(id: string | number | null | undefined, n = 8): string {
  return String(id ?? '').slice(0, n);
}
