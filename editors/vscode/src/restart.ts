/**
 * A bounded restart policy: a server that keeps crashing is not restarted forever.
 *
 * The server is restarted after a crash unless `max` crashes already happened within
 * `windowMs`; then the extension stops and says so (the user can restart it by command).
 * Pure logic with an injected clock, so it is unit-tested without a server.
 */
export interface RestartDecision {
  restart: boolean;
  /** Sentence for the user. */
  message: string;
  /** Crashes counted inside the window, this one included. */
  crashes: number;
}

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs = 3 * 60_000,
  ) {}

  /** Record a crash at `now` (ms) and decide. */
  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    const n = this.crashes.length;
    if (n <= this.max) {
      return {
        restart: true,
        crashes: n,
        message: `stead: the server stopped unexpectedly; restarting it (${n} of ${this.max}).`,
      };
    }
    const minutes = Math.round(this.windowMs / 60_000);
    return {
      restart: false,
      crashes: n,
      message:
        `stead: the server crashed ${n} times in ${minutes} minutes and will not be restarted. ` +
        'See "stead: Show the Server Log", then run "stead: Restart the Server".',
    };
  }

  /** Forget past crashes (after a manual restart). */
  reset(): void {
    this.crashes = [];
  }
}
