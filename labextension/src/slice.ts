/**
 * One list the sidebar shows, with its load error. Reloading keeps the object of every item
 * that did not change, so React re-renders only the rows that did (and keeps focus and
 * clicks on the others).
 */
import { ISignal, Signal } from '@lumino/signaling';

export class Slice<T> {
  constructor(private readonly _key: (item: T) => string) {}

  get items(): readonly T[] {
    return this._items;
  }

  get error(): string {
    return this._error;
  }

  /** Whether a load has answered since the last reset. */
  get loaded(): boolean {
    return this._loaded;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get(key: string): T | undefined {
    return this._items.find(item => this._key(item) === key);
  }

  /** Take a fresh list, reusing the old object of each unchanged item. */
  set(items: T[]): void {
    const old = new Map(this._items.map(item => [this._key(item), item]));
    let same = items.length === this._items.length && this._loaded && !this._error;
    const next = items.map((item, i) => {
      const prev = old.get(this._key(item));
      if (prev !== undefined && JSON.stringify(prev) === JSON.stringify(item)) {
        same = same && this._items[i] === prev;
        return prev;
      }
      same = false;
      return item;
    });
    this._loaded = true;
    this._error = '';
    if (!same) {
      this._items = next;
      this._changed.emit();
    }
  }

  /** Change one item at once (from a pushed event), ahead of the reload that confirms it. */
  patch(key: string, fields: Partial<T>): void {
    const i = this._items.findIndex(item => this._key(item) === key);
    if (i >= 0) {
      this._items = [...this._items];
      this._items[i] = { ...this._items[i], ...fields };
      this._changed.emit();
    }
  }

  /** A load failed: keep the rows (better than nothing) and say why. */
  fail(message: string): void {
    this._error = message;
    this._changed.emit();
  }

  reset(): void {
    this._items = [];
    this._error = '';
    this._loaded = false;
    this._changed.emit();
  }

  private _items: T[] = [];
  private _error = '';
  private _loaded = false;
  private _changed = new Signal<this, void>(this);
}
