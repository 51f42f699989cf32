// The profiles of one endpoint: its own, for every client it serves, and over it the settings of each named
// client. An endpoint holds one of these and takes a new one on reload, so its clients stay connected.
import { Profile, type ProfileSettings } from './profile.ts';

/** The settings a profile is made of (not, say, the file its filter came from). */
function settingsOf(fields: ProfileSettings): ProfileSettings {
  const { messagePostFormat, filter, reportSelfMessage, compat } = fields;
  return { messagePostFormat, filter, reportSelfMessage, compat };
}

export class EndpointProfiles {
  /** Equal settings, equal key: a reload that leaves them alone changes nothing. */
  readonly key: string;
  private readonly own: Profile | undefined;
  private readonly named: Map<string, Profile | undefined>;

  constructor(fields: ProfileSettings = {}, clients: Record<string, ProfileSettings> = {}) {
    const base = settingsOf(fields);
    this.own = Profile.of(base);
    // A named client's settings override the endpoint's one by one (its filter replaces the endpoint's).
    const merged = Object.entries(clients).map(([name, client]) => {
      const over = Object.fromEntries(Object.entries(settingsOf(client)).filter(([, value]) => value !== undefined));
      return [name, Profile.of({ ...base, ...over })] as const;
    });
    this.named = new Map(merged);
    this.key = JSON.stringify([this.own?.key ?? null, merged.map(([name, p]) => [name, p?.key ?? null])]);
  }

  /** The profile of a client: the one of its name if the settings give one, else the endpoint's (none: as sent). */
  for(name?: string): Profile | undefined {
    return name !== undefined && this.named.has(name) ? this.named.get(name) : this.own;
  }
}
