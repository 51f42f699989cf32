// What went wrong with a fetch(), and whether the request can have reached the server at all.

/** Errors that mean no connection was made: the request was certainly not handled, so it may be sent again. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export interface FetchFailure {
  /** The system error code, or the message. */
  why: string;
  timedOut: boolean;
  neverSent: boolean;
}

export function fetchFailure(err: unknown): FetchFailure {
  const timedOut = (err as Error).name === 'TimeoutError';
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return {
    why: code ?? (err as { cause?: Error }).cause?.message ?? (err as Error).message,
    timedOut,
    neverSent: code !== undefined && NEVER_SENT.has(code),
  };
}
