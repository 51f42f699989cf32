// One downstream transport (a WS server, a reverse WS target, ...) behind one interface.
export interface Adapter {
  /** What it is and where, for logs and the status page, e.g. "HTTP POST to http://127.0.0.1:8080/". */
  readonly name: string;
  open(): Promise<void>;
  /** Close every connection (clients get 1001) and stop listening or dialling. */
  close(): Promise<void>;
  /** One upstream event, exactly as the implementation sent it. Must never wait for a client. */
  deliver(event: string): void;
  /** Connected clients, for health. */
  readonly clientCount: number;
}
