// Watches the implementation's own heartbeats: two missed in a row call for a probe.
export class HeartbeatWatchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onMissed: () => void) {}

  /** A heartbeat arrived that announces the next one in `interval` ms. */
  beat(interval: number): void {
    this.stop();
    // Two beats missed, with half an interval of grace for a late one.
    if (interval > 0) this.timer = setTimeout(this.onMissed, interval * 2.5);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
