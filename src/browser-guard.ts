// Web pages must not drive the bot through the relay. Browsers let any page open a WebSocket to
// 127.0.0.1, post a form to it or load it as an image, and a page whose name is made to resolve to
// 127.0.0.1 (DNS rebinding) may even read the answers. Browsers say where a request comes from
// (Origin, Sec-Fetch-Site) and which name it was sent to (Host); frameworks and implementations send
// none of this. Every listener asks this guard before its routes run: before any upgrade or action.
import { isIP } from 'node:net';
import type { Logger } from './log.ts';

export interface BrowserPolicy {
  /** Origins (as originOf gives them) whose pages may use the endpoint; "*": any page. */
  allowOrigins: readonly string[];
  /**
   * Names the Host header may carry besides an IP address, localhost and the listen host; undefined: Host is
   * not checked. Only a name can rebind: an IP address in Host means the browser itself asked that address.
   */
  allowHosts?: readonly string[];
  /**
   * Pages the endpoint serves itself may use it (the admin endpoint's status page), and a link elsewhere may
   * open them. Needs allowHosts.
   */
  ownPages?: boolean;
}

/** What a request says about where it comes from and which name it was sent to. */
export interface Provenance {
  origin?: string;
  fetchSite?: string;
  host?: string;
  /** A GET that opens a page in a tab (Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: document): a link was followed. */
  opensPage?: boolean;
}

export interface Refusal {
  /** The reply (HTTP 403). */
  reason: string;
  /** What was refused: logged once a minute, however many requests it makes. */
  subject: string;
  /** How an operator who trusts it lets it in. */
  fix: string;
}

/** An origin as browsers send it: "scheme://host[:port]", lower case, without a default port; undefined when it is none. */
export function originOf(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.username || url.password || url.search || url.hash || !['', '/'].includes(url.pathname)) return undefined;
  return `${url.protocol}//${url.host}`.toLowerCase();
}

/** A host name as allowHosts lists it: lower case, without a trailing dot. */
export function hostNameOf(text: string): string | undefined {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  return /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name) ? name : undefined;
}

const HOST_HEADER = /^(?:\[([0-9a-f:.]+)(?:%[\w.~-]+)?\]|([^\s:[\]/@]+))(?::\d{1,5})?$/i;

function hostAllowed(host: string, listenHost: string, names: readonly string[]): boolean {
  const [, v6, other] = HOST_HEADER.exec(host) ?? [];
  if (v6 !== undefined) return isIP(v6) === 6;
  if (other === undefined) return false;
  const name = other.toLowerCase().replace(/\.$/, '');
  return isIP(name) !== 0 || name === 'localhost' || name === listenHost.toLowerCase() || names.includes(name);
}

/** The request's Origin names the very host:port it was sent to, over http or https. */
function ownOrigin(origin: string, host: string): boolean {
  return [originOf(`http://${host}`), originOf(`https://${host}`)].includes(origin);
}

/** A header as the log and the reply show it: a page may send kilobytes. */
function shown(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

/** Undefined: serve it. A request without Origin, Sec-Fetch-Site or Host (any framework) is always served. */
export function judge(request: Provenance, policy: BrowserPolicy, listenHost: string): Refusal | undefined {
  const { origin, fetchSite, host, opensPage } = request;
  if (policy.allowHosts && host !== undefined && !hostAllowed(host, listenHost, policy.allowHosts)) {
    return {
      reason: `refused: Host "${shown(host)}" is not a name of this relay (a guard against DNS rebinding; see allowHosts)`,
      subject: `requests for Host "${shown(host)}"`,
      fix: 'if that name leads to this machine, add it to allowHosts (--allow-host)',
    };
  }
  if (policy.allowOrigins.includes('*')) return undefined;
  if (origin !== undefined) {
    const normal = originOf(origin) ?? origin;
    if (policy.allowOrigins.includes(normal)) return undefined;
    if (policy.ownPages && host !== undefined && ownOrigin(normal, host)) return undefined;
    return {
      reason: `refused: web pages from ${shown(origin)} may not use this endpoint (see allowOrigins)`,
      subject: `requests from web pages at ${shown(origin)}`,
      fix: `if you trust that page, add "${shown(normal)}" to allowOrigins (--allow-origin)`,
    };
  }
  // No Origin: a link, an image or a form in an older browser. Sec-Fetch-Site still says it came from a page elsewhere.
  // A link to a page of the endpoint's own shows it to the user, not to the linking page, and changes nothing.
  if ((fetchSite === 'cross-site' || fetchSite === 'same-site') && !(policy.ownPages && opensPage)) {
    return {
      reason: 'refused: a request from a web page on another site (see allowOrigins)',
      subject: `${fetchSite} requests from web pages that send no Origin`,
      fix: 'a page that is allowed sends its Origin with fetch() or XMLHttpRequest',
    };
  }
  return undefined;
}

/** A refused subject is logged again only after this long, ms. */
const LOG_EVERY_MS = 60_000;
/** Subjects remembered within a minute: a page trying ever new origins cannot flood the log. */
const MAX_SUBJECTS = 100;

/** One endpoint's guard: it answers refused requests with 403 and logs each refused subject once a minute. */
export class BrowserGuard {
  /** Subject → when it was last logged, oldest first. */
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly policy: BrowserPolicy,
    private readonly log: Logger,
    /** The endpoint, as the log names it. */
    private readonly where: () => string,
  ) {}

  /** At start: "*" lets every web page in. */
  warnIfOpen(): void {
    if (this.policy.allowOrigins.includes('*'))
      this.log.warn(
        `${this.where()}: allowOrigins "*": any web page, in any browser that can reach it, may use it; list the pages you trust instead, and set a token`,
      );
  }

  /** The 403 to answer instead, or undefined to serve the request. */
  refuse(request: Request, listenHost: string): Response | undefined {
    const header = (name: string) => request.headers.get(name) ?? undefined;
    const provenance = {
      origin: header('origin'),
      fetchSite: header('sec-fetch-site'),
      host: header('host'),
      opensPage: request.method === 'GET' && header('sec-fetch-mode') === 'navigate' && header('sec-fetch-dest') === 'document',
    };
    const refusal = judge(provenance, this.policy, listenHost);
    if (!refusal) return undefined;
    this.note(refusal);
    return new Response(refusal.reason, { status: 403, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  }

  private note({ subject, fix }: Refusal): void {
    const now = Date.now();
    for (const [seen, at] of this.logged) {
      if (now - at < LOG_EVERY_MS) break;
      this.logged.delete(seen);
    }
    if (this.logged.has(subject) || this.logged.size >= MAX_SUBJECTS) return;
    this.logged.set(subject, now);
    this.log.warn(`${this.where()}: refused ${subject}; ${fix} (logged once a minute)`);
  }
}
