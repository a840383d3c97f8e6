/**
 * Logging in: a person gives the dashboard's token once and gets a session in an HttpOnly,
 * SameSite=Strict cookie, which the page's script cannot read and another site's page does not
 * send. Every action also needs the session's CSRF token in a header and a same-origin `Origin`,
 * so a cross-site form or script cannot act with someone's session.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'kre_dashboard';

export interface Session {
  id: string;
  csrf: string;
  expires: number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Sessions {
  /** Insertion order is age order: the first is the oldest, dropped when the map is full. */
  private readonly sessions = new Map<string, Session>();
  private readonly token: Buffer;

  constructor(
    token: string,
    private readonly ttlMs: number,
    private readonly max: number,
  ) {
    this.token = digest(token);
  }

  /** A new session when `given` is the token; undefined otherwise. Compared in constant time. */
  login(given: string): Session | undefined {
    if (!timingSafeEqual(digest(given), this.token)) return undefined;
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expires < now) this.sessions.delete(id);
    if (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    const s = { id: randomBytes(24).toString('base64url'), csrf: randomBytes(24).toString('base64url'), expires: now + this.ttlMs };
    this.sessions.set(s.id, s);
    return s;
  }

  logout(req: IncomingMessage): void {
    const id = cookieOf(req);
    if (id) this.sessions.delete(id);
  }

  /** The request's session, if its cookie names a live one. */
  of(req: IncomingMessage): Session | undefined {
    const id = cookieOf(req);
    const s = id ? this.sessions.get(id) : undefined;
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.sessions.delete(s.id);
      return undefined;
    }
    return s;
  }

  size(): number {
    return this.sessions.size;
  }

  cookie(s: Session, secure: boolean): string {
    return `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.ttlMs / 1000)}${secure ? '; Secure' : ''}`;
  }
}

export const clearedCookie = `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

/** Whether a state-changing request comes from a page of this server: `Origin` is the request's own origin. */
export function sameOrigin(req: IncomingMessage, secure: boolean): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  return origin !== undefined && host !== undefined && origin === `${secure ? 'https' : 'http'}://${host}`;
}

/** Whether the request carries the session's CSRF token in `header`. */
export function csrfMatches(req: IncomingMessage, s: Session, header: string): boolean {
  const given = req.headers[header];
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(s.csrf));
}
