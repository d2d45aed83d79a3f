/**
 * Small DOM helpers of the views that are not React (the run log appends many lines).
 */
import { statusWords } from './format';

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

/** A status badge: the status in words, its raw value in `data-status` (colours). */
export function statusBadge(status: string | null | undefined): HTMLElement {
  const raw = status ?? 'unknown';
  return h('span', { class: 'jp-orch-status', dataset: { status: raw }, title: raw }, statusWords(raw));
}

/** Show `msg` in an error element, or hide the element when `msg` is empty. */
export function showError(el: HTMLElement, msg: string): void {
  el.textContent = msg;
  el.hidden = !msg;
}
