/**
 * A widget that works only while it is visible.
 *
 * It starts when attached visible or shown, and stops when hidden, detached
 * or disposed. While started it holds the push channel (`acquire`), so the
 * socket stays open as long as any visible view needs it. Subclasses put
 * their own work in `onStartWork()` / `onStopWork()` and read `isActive`.
 *
 * From construction to disposal it also passes every channel event to
 * `onChannelEvent()` (visible or not; check `isActive` where it matters).
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { EventChannel, IOrchEvent, ISubscription } from './events';

export abstract class VisibleWorkWidget extends Widget {
  constructor(channel: EventChannel, options?: Widget.IOptions) {
    super(options);
    this.channel = channel;
    this.channel.received.connect(this._onReceived, this);
  }

  protected readonly channel: EventChannel;

  /** Whether the widget is started (visible and holding the channel). */
  protected get isActive(): boolean {
    return this._active;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stop();
    this.channel.received.disconnect(this._onReceived, this);
    super.dispose();
  }

  /** Called once the widget is started and holds the channel. */
  protected abstract onStartWork(): void;

  /** Called once the widget is stopped and has released the channel. */
  protected abstract onStopWork(): void;

  /** An event from the push channel. */
  protected abstract onChannelEvent(event: IOrchEvent): void;

  /** What the widget shows: the channel sends only these events. */
  protected abstract channelInterest(): ISubscription;

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._start();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._start();
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._stop();
  }

  protected onBeforeDetach(msg: Message): void {
    this._stop();
    super.onBeforeDetach(msg);
  }

  private _start(): void {
    if (this._active) {
      return;
    }
    this._active = true;
    this.channel.acquire(this, this.channelInterest());
    this.onStartWork();
  }

  private _stop(): void {
    if (!this._active) {
      return;
    }
    this._active = false;
    this.channel.release(this);
    this.onStopWork();
  }

  private _onReceived(_: EventChannel, event: IOrchEvent): void {
    this.onChannelEvent(event);
  }

  private _active = false;
}
