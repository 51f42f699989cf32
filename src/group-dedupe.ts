// One responder per group (groupDedupe): with several accounts in a group, each reports every message, and a
// framework would answer each. A group message or notice is delivered once, from the group's primary account:
// the first in configuration order that is in the group and can answer. Copies from the other accounts wait
// one grace period (a heartbeat interval) for the primary's; if it does not come (the primary is down, offline
// or frozen), the best other copy goes, so nothing is lost across a switch.
import type { SelfId } from './onebot.ts';

/** An account as group dedupe sees it, in configuration order. */
export interface GroupAccount {
  selfId: SelfId;
  /** Its link is up and its QQ online: it can answer. */
  available: boolean;
  /** How long its copies wait for the primary's, ms (a heartbeat interval). */
  grace: number;
}

export interface GroupStatus {
  group_id: number | string;
  /** The account that answers in it now, if any can. */
  primary: SelfId | null;
  /** Accounts seen in it, in configuration order. */
  accounts: SelfId[];
}

/** A delivered message is still known as one this long after (copies can come late), ms, at least. */
const REMEMBER_MS = 60_000;

interface Held<Copy> {
  group: string;
  /** The copy of each account that reported it, by self_id. */
  copies: Map<string, Copy>;
  timer: NodeJS.Timeout;
}

const id = (selfId: SelfId) => String(selfId);

/** `Copy`: what an account's report of an event is to the caller (it is handed back as it was given). */
export class GroupDedupe<Copy = string> {
  private accounts: GroupAccount[] = [];
  /** Accounts in each group (listed by their implementation, or seen there), by group_id. */
  private readonly members = new Map<string, Set<string>>();
  /** Identities delivered, and when (oldest first). */
  private readonly delivered = new Map<string, number>();
  /** Copies waiting for the primary's, by identity, in the order they came. */
  private readonly held = new Map<string, Held<Copy>>();
  private groupIds = new Map<string, number | string>();
  /** Copies dropped because another account's copy was delivered. */
  dropped = 0;

  constructor(private readonly deliver: (selfId: SelfId, copy: Copy) => void) {}

  /** The accounts, in configuration order, and which can answer: copies held for a new primary go at once. */
  setAccounts(accounts: GroupAccount[]): void {
    this.accounts = accounts;
    for (const [identity, held] of this.held) {
      const primary = this.primary(held.group);
      if (primary !== undefined && held.copies.has(primary)) this.release(identity, held, primary);
    }
  }

  /** An event of account `selfId` (already parsed), delivered, held or dropped. */
  event(selfId: SelfId, copy: Copy, event: Record<string, unknown>): void {
    const identity = identityOf(event);
    if (identity === undefined) return this.deliver(selfId, copy);
    const group = String(event.group_id);
    this.join(group, event.group_id as number | string, id(selfId));
    const now = Date.now();
    this.forget(now);
    if (this.delivered.has(identity)) {
      this.dropped++;
      return;
    }
    const primary = this.primary(group);
    if (primary === undefined || primary === id(selfId)) {
      const held = this.held.get(identity);
      if (held) {
        clearTimeout(held.timer);
        this.held.delete(identity);
        this.dropped += held.copies.size;
      }
      this.delivered.set(identity, now);
      this.deliver(selfId, copy);
      return;
    }
    const held = this.held.get(identity);
    if (held) {
      held.copies.set(id(selfId), copy);
      return;
    }
    const grace = this.accounts.find((a) => id(a.selfId) === primary)?.grace ?? 0;
    const copies = new Map([[id(selfId), copy]]);
    const timer = setTimeout(() => this.release(identity, this.held.get(identity)!, this.best(copies)), grace);
    this.held.set(identity, { group, copies, timer });
  }

  /** The groups an account is in, as its implementation lists them (get_group_list): it may be the primary before it reports anything. */
  joined(selfId: SelfId, groupIds: (number | string)[]): void {
    for (const groupId of groupIds) this.join(String(groupId), groupId, id(selfId));
    this.setAccounts(this.accounts);
  }

  /** Each group seen, with its primary. */
  groups(): GroupStatus[] {
    return [...this.members].map(([group, members]) => ({
      group_id: this.groupIds.get(group)!,
      primary: this.accounts.find((a) => id(a.selfId) === this.primary(group))?.selfId ?? null,
      accounts: this.accounts.filter((a) => members.has(id(a.selfId))).map((a) => a.selfId),
    }));
  }

  /** Deliver every copy held now, each from the best account that has it (groupDedupe turned off). */
  flush(): void {
    for (const [identity, held] of this.held) this.release(identity, held, this.best(held.copies));
  }

  /** Stop the timers (the relay stops): what is held is not delivered. */
  close(): void {
    for (const held of this.held.values()) clearTimeout(held.timer);
    this.held.clear();
  }

  /** The first account in configuration order seen in the group that can answer. */
  private primary(group: string): string | undefined {
    const members = this.members.get(group);
    return this.accounts.map((a) => (a.available && members?.has(id(a.selfId)) ? id(a.selfId) : undefined)).find((a) => a);
  }

  /** Of the copies, the one from the first account in configuration order that can answer, else any. */
  private best(copies: Map<string, Copy>): string {
    return this.accounts.map((a) => id(a.selfId)).find((a) => copies.has(a) && this.isAvailable(a)) ?? copies.keys().next().value!;
  }

  private isAvailable(selfId: string): boolean {
    return this.accounts.some((a) => id(a.selfId) === selfId && a.available);
  }

  /** Deliver one copy of a held message (and every one held before it, to keep the order); drop the others. */
  private release(identity: string, held: Held<Copy>, from: string): void {
    for (const [earlier, other] of this.held) {
      if (earlier === identity) break;
      this.release(earlier, other, this.best(other.copies));
    }
    clearTimeout(held.timer);
    this.held.delete(identity);
    this.delivered.set(identity, Date.now());
    this.dropped += held.copies.size - 1;
    const account = this.accounts.find((a) => id(a.selfId) === from)?.selfId ?? from;
    this.deliver(account, held.copies.get(from)!);
  }

  private join(group: string, groupId: number | string, selfId: string): void {
    let members = this.members.get(group);
    if (!members) {
      members = new Set();
      this.members.set(group, members);
      this.groupIds.set(group, groupId);
    }
    members.add(selfId);
  }

  private forget(now: number): void {
    const keep = Math.max(REMEMBER_MS, ...this.accounts.map((a) => 4 * a.grace));
    for (const [identity, at] of this.delivered) {
      if (now - at <= keep) return;
      this.delivered.delete(identity);
    }
  }
}

/**
 * What makes two accounts' reports one thing in a group: a group message by its group_id and message_seq (or
 * sender, time and content without a seq); a group notice by all it says but the account's own ids.
 */
export function identityOf(event: Record<string, unknown>): string | undefined {
  if (event.group_id === undefined) return undefined;
  if (event.post_type === 'message' && event.message_type === 'group') {
    if (event.message_seq !== undefined) return `message ${event.group_id} #${event.message_seq}`;
    const content = event.raw_message ?? JSON.stringify(event.message);
    return `message ${event.group_id} ${event.user_id} ${event.time} ${content}`;
  }
  if (event.post_type === 'notice') {
    // message_id is each implementation's own number for the message (a recall); self_id is the account.
    const { self_id: _self, message_id: _message, ...rest } = event;
    return `notice ${JSON.stringify(rest)}`;
  }
  return undefined;
}
