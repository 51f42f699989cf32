// The one link to the OneBot implementation, whatever transport carries it.

export interface LinkDown {
  /** Which side ended the link. */
  by: 'implementation' | 'relay' | 'network';
  code?: number;
  reason: string;
}

/** What an upstream link reports to (the hub). */
export interface UpstreamSink {
  linkUp(): void;
  linkDown(down: LinkDown): void;
  /** One frame from the implementation: an event or an API reply, as received. */
  frame(text: string): void;
}

export interface Upstream {
  /** Where it connects, safe to log. */
  readonly target: string;
  start(): void;
  stop(): Promise<void>;
  /** Send one action frame; false when the link is not up. */
  send(text: string): boolean;
  /** The link is dead: drop it at once (no polite close) and reconnect. */
  kill(why: string): void;
}
