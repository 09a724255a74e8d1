// A wake-up signal for a loop that sleeps: ring() ends the current or the next
// wait early. Rings while nobody waits are remembered once.

export class Doorbell {
  private pending = false;
  private wake: (() => void) | undefined;

  ring(): void {
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    } else {
      this.pending = true;
    }
  }

  /** Resolves after `ms` or on the next ring, whichever comes first. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
