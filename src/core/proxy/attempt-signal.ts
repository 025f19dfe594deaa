/**
 * The stop signal of one attempt: aborted with a STOP_REASON when the attempt must stop. A Web AbortSignal is made
 * only when a forwarder asks for one (`signal`, for fetch); an upstream client that takes any EventTarget-like signal
 * (undici: `aborted`, `reason`, `addEventListener('abort')`, `removeEventListener`) gets this object itself. On Node 20
 * an AbortController's signal and one listener on it cost about 10 µs a request, more than the rest of the lifecycle's
 * bookkeeping (issue 12's profile); on Node 26 about 0.5 µs.
 */
/** A listener: a function, or an object whose `handleEvent` is called (as EventTarget allows), which spares a closure. */
export type AttemptListener = (() => void) | { handleEvent(): void };

export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: AttemptListener[] | undefined;
  #controller: AbortController | undefined;

  /** A Web AbortSignal that follows this one, made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Aborts once: later calls keep the first reason, as AbortController does. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        if (typeof listener === 'function') listener.call(this);
        else listener.handleEvent();
      } catch (error) {
        // As an EventTarget does: one listener throwing neither stops the others nor the caller; it is reported.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Only 'abort' is ever dispatched, once, so every listener is a `once` listener. */
  addEventListener(type: string, listener: AttemptListener): void {
    if (type !== 'abort' || this.aborted) return;
    // A literal, exactly sized: `[]` then `push` reserves room for 17, and most attempts have one listener.
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
  }

  removeEventListener(type: string, listener: AttemptListener): void {
    const listeners = this.#listeners;
    if (type !== 'abort' || listeners === undefined) return;
    // The usual case, the attempt's one listener leaving: no `splice`, which returns a new array of what it removed.
    if (listeners.length === 1 && listeners[0] === listener) {
      this.#listeners = undefined;
      return;
    }
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  }
}
