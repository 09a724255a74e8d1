// The deadline of one http attempt, in the form of abort signal undici also
// takes: an EventEmitter with `aborted`, which emits 'abort' when the time is
// up. AbortSignal.timeout cost about 10 µs an attempt (an EventTarget, a
// WeakRef, and a timer that stays for the whole timeout after the answer);
// this costs under 1 µs, and its timer goes when the attempt ends.
import { EventEmitter } from 'node:events';

export class AttemptDeadline extends EventEmitter {
  /** The time is up; undici reads this before it sends. */
  aborted = false;
  private readonly timer: NodeJS.Timeout;

  /** `ms`: the attempt's timeout, in milliseconds, from now. */
  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => {
      this.aborted = true;
      this.emit('abort');
    }, ms);
    // Like AbortSignal.timeout's: an attempt's deadline alone does not keep the process alive.
    this.timer.unref();
  }

  /** The attempt ended: the timer goes. */
  clear(): void {
    clearTimeout(this.timer);
  }
}
