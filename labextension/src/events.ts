/**
 * The push channel: one WebSocket on `<ws_url>v1/api/events`.
 *
 * Views that need events `acquire()` the channel with what they show (an
 * `ISubscription`: kinds and ids) and `release()` it when they are hidden or
 * closed; the socket is open only while someone holds it, and the server
 * sends only what some holder subscribed to. Log lines come batched per run
 * (`reads`, see logreads.ts); a `resync` event says the server dropped events this tab read
 * too slowly: holders re-read what they show. A dropped socket reconnects with exponential back-off (capped at
 * 30 s); `connectionChanged` tells holders when to refresh what they may
 * have missed.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ISignal, Signal } from '@lumino/signaling';
import { serverSettings } from './api';

export interface IOrchEvent {
  kind: 'orchestration' | 'task' | 'run' | 'log' | 'inference' | 'pipeline' | string;
  id: string | number;
  status?: string;
  at?: string;
  [key: string]: unknown;
}

/** What a holder shows: events of these kinds (all when empty) about these ids (all when empty). */
export interface ISubscription {
  kinds?: string[];
  ids?: string[];
}

/** The jupyter_events schemas jupyter-orch emits its state changes under (`<base><kind>/v1`). */
export const SCHEMA_BASE = 'https://events.jupyter.org/jupyter_orch/';

/**
 * A state change read from jupyter_server's event stream (`serviceManager.events`) as the
 * event the sidebar handles; null for another extension's event.
 */
export function stateEvent(emission: { schema_id: string; [key: string]: unknown }): IOrchEvent | null {
  if (!emission.schema_id.startsWith(SCHEMA_BASE)) {
    return null;
  }
  const kind = emission.schema_id.slice(SCHEMA_BASE.length).split('/')[0];
  const { id } = emission;
  if (!kind || (typeof id !== 'string' && typeof id !== 'number')) {
    return null;
  }
  return { ...emission, kind, id };
}

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;

export class EventChannel {
  /** A message arrived. */
  get received(): ISignal<this, IOrchEvent> {
    return this._received;
  }

  /** The socket opened (true) or dropped (false). */
  get connectionChanged(): ISignal<this, boolean> {
    return this._connectionChanged;
  }

  get isConnected(): boolean {
    return this._connected;
  }

  /** Start needing the channel for `interest`; opens the socket for the first holder. */
  acquire(holder: object, interest: ISubscription = {}): void {
    this._holders.set(holder, interest);
    if (!this._socket && this._timer === null) {
      this._open();
    } else {
      this._sendSubscriptions();
    }
  }

  /** Stop needing the channel; closes the socket when nobody holds it. */
  release(holder: object): void {
    this._holders.delete(holder);
    if (this._holders.size === 0) {
      this._close();
    } else {
      this._sendSubscriptions();
    }
  }

  /** The server's filter: the union of what every holder shows. */
  subscriptions(): ISubscription[] {
    return [...this._holders.values()];
  }

  private _sendSubscriptions(): void {
    if (this._socket && this._socket.readyState === WebSocket.OPEN) {
      this._socket.send(JSON.stringify({ subscriptions: this.subscriptions() }));
    }
  }

  dispose(): void {
    this._holders.clear();
    this._close();
    Signal.clearData(this);
  }

  private _url(): string {
    const settings = serverSettings();
    // Nothing until the socket is open and the holders' subscriptions are sent.
    let url = `${URLExt.join(settings.wsUrl, 'v1/api/events')}?kinds=none`;
    if (settings.token) {
      url += `&token=${encodeURIComponent(settings.token)}`;
    }
    return url;
  }

  private _open(): void {
    this._timer = null;
    if (this._holders.size === 0) {
      return;
    }
    let socket: WebSocket;
    try {
      socket = new WebSocket(this._url());
    } catch (e) {
      console.warn('jupyter-orch: cannot open the event channel', e);
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      this._attempt = 0;
      this._sendSubscriptions();
      this._setConnected(true);
    };
    socket.onmessage = (msg: MessageEvent) => {
      let event: IOrchEvent;
      try {
        event = JSON.parse(String(msg.data));
      } catch {
        return;
      }
      if (event && typeof event === 'object' && event.kind) {
        this._received.emit(event);
      }
    };
    socket.onclose = () => {
      if (this._socket !== socket) {
        return; // closed on purpose
      }
      this._socket = null;
      this._setConnected(false);
      this._scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and handles the reconnect
    };
  }

  private _scheduleReconnect(): void {
    if (this._holders.size === 0 || this._timer !== null) {
      return;
    }
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this._attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this._attempt += 1;
    this._timer = window.setTimeout(() => this._open(), delay);
  }

  private _close(): void {
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    const socket = this._socket;
    this._socket = null;
    this._attempt = 0;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close();
    }
    this._setConnected(false);
  }

  private _setConnected(value: boolean): void {
    if (this._connected !== value) {
      this._connected = value;
      this._connectionChanged.emit(value);
    }
  }

  private _holders = new Map<object, ISubscription>();
  private _socket: WebSocket | null = null;
  private _timer: number | null = null;
  private _attempt = 0;
  private _connected = false;
  private _received = new Signal<this, IOrchEvent>(this);
  private _connectionChanged = new Signal<this, boolean>(this);
}
