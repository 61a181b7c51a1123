/** The demo people the local OpenID provider knows. No passwords: it is a demo. */
export interface DemoPerson {
  /** Account id at the provider, and the `sub` of every token issued for this person. */
  id: string;
  preferred_username: string;
  email: string;
  name: string;
  groups: string[];
  regions: string[];
}

export const PEOPLE: readonly DemoPerson[] = [
  {
    id: 'ada',
    preferred_username: 'ada',
    email: 'ada@example.test',
    name: 'Ada Lovelace',
    groups: ['bi-admins', 'finance'],
    regions: ['EU'],
  },
  {
    id: 'grace',
    preferred_username: 'grace',
    email: 'grace@example.test',
    name: 'Grace Hopper',
    groups: ['bi-analysts'],
    regions: ['US'],
  },
  {
    // The platform team: she configures claimgate itself (the console's write role), not the analytics app.
    id: 'margaret',
    preferred_username: 'margaret',
    email: 'margaret@example.test',
    name: 'Margaret Hamilton',
    groups: ['platform-team'],
    regions: ['EU'],
  },
];

export function findPerson(id: string): DemoPerson | undefined {
  return PEOPLE.find((p) => p.id === id);
}

/** The claims a token carries about a person (ID token and SSO link alike). */
export function personClaims(p: DemoPerson): Record<string, unknown> {
  return {
    preferred_username: p.preferred_username,
    email: p.email,
    email_verified: true,
    name: p.name,
    groups: [...p.groups],
    regions: [...p.regions],
  };
}
