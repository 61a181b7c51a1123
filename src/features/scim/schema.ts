/**
 * The SCIM resource schemas (RFC 7643 section 4 User and Group, 4.3 the enterprise extension), as data: one table
 * drives name canonicalisation (attribute names are case-insensitive), path validation, type coercion, the
 * read-only rules and the `/Schemas` answer.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
import { ENTERPRISE_SCHEMA } from '../../core/scim/user-roles.js';

export { ENTERPRISE_SCHEMA };
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type AttrType = 'string' | 'boolean' | 'dateTime' | 'reference' | 'complex' | 'integer' | 'decimal' | 'binary';
export type Mutability = 'readWrite' | 'readOnly' | 'immutable' | 'writeOnly';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: Mutability;
  returned?: 'always' | 'never' | 'default' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  subAttributes?: AttrDef[];
  description?: string;
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttrDef[];
}

const s = (name: string, extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'string', ...extra });
const b = (name: string): AttrDef => ({ name, type: 'boolean' });
/** A multi-valued attribute of `{ value, display, type, primary }` entries (emails, phoneNumbers…). */
const multi = (name: string, valueType: AttrType = 'string'): AttrDef => ({
  name,
  type: 'complex',
  multiValued: true,
  subAttributes: [{ name: 'value', type: valueType }, s('display'), s('type'), b('primary')],
});

const META: AttrDef = {
  name: 'meta',
  type: 'complex',
  mutability: 'readOnly',
  subAttributes: [
    s('resourceType', { mutability: 'readOnly', caseExact: true }),
    { name: 'created', type: 'dateTime', mutability: 'readOnly' },
    { name: 'lastModified', type: 'dateTime', mutability: 'readOnly' },
    { name: 'location', type: 'reference', mutability: 'readOnly', caseExact: true },
    s('version', { mutability: 'readOnly', caseExact: true }),
  ],
};
const ID = s('id', { mutability: 'readOnly', returned: 'always', caseExact: true, uniqueness: 'server' });
const EXTERNAL_ID = s('externalId', { caseExact: true });

export const USER: SchemaDef = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account (userName is the claimgate usercode)',
  attributes: [
    ID,
    EXTERNAL_ID,
    META,
    s('userName', { required: true, uniqueness: 'server' }),
    {
      name: 'name',
      type: 'complex',
      subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => s(n)),
    },
    s('displayName'),
    s('nickName'),
    { name: 'profileUrl', type: 'reference' },
    s('title'),
    s('userType'),
    s('preferredLanguage'),
    s('locale'),
    s('timezone'),
    b('active'),
    { name: 'password', type: 'string', mutability: 'writeOnly', returned: 'never' },
    multi('emails'),
    multi('phoneNumbers'),
    multi('ims'),
    multi('photos', 'reference'),
    {
      name: 'addresses',
      type: 'complex',
      multiValued: true,
      subAttributes: [...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((n) => s(n)), b('primary')],
    },
    {
      name: 'groups',
      type: 'complex',
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        s('value', { mutability: 'readOnly' }),
        { name: '$ref', type: 'reference', mutability: 'readOnly' },
        s('display', { mutability: 'readOnly' }),
        s('type', { mutability: 'readOnly' }),
      ],
    },
    multi('entitlements'),
    multi('roles'),
    multi('x509Certificates', 'binary'),
  ],
};

export const ENTERPRISE_USER: SchemaDef = {
  id: ENTERPRISE_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    s('employeeNumber'),
    s('costCenter'),
    s('organization'),
    s('division'),
    s('department'),
    {
      name: 'manager',
      type: 'complex',
      subAttributes: [s('value', { caseExact: true }), { name: '$ref', type: 'reference' }, s('displayName', { mutability: 'readOnly' })],
    },
  ],
};

export const GROUP: SchemaDef = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group (its displayName or externalId may grant roles through provisioning.scim.groupRoles)',
  attributes: [
    ID,
    EXTERNAL_ID,
    META,
    s('displayName', { required: true }),
    {
      name: 'members',
      type: 'complex',
      multiValued: true,
      subAttributes: [s('value', { mutability: 'immutable', caseExact: true }), { name: '$ref', type: 'reference', mutability: 'immutable' }, s('display'), s('type')],
    },
  ],
};

/** One resource type: its core schema and the extensions it may carry. */
export interface ResourceKind {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  core: SchemaDef;
  extensions: SchemaDef[];
}

export const USER_KIND: ResourceKind = { name: 'User', endpoint: '/Users', core: USER, extensions: [ENTERPRISE_USER] };
export const GROUP_KIND: ResourceKind = { name: 'Group', endpoint: '/Groups', core: GROUP, extensions: [] };

/** A resolved attribute path: which schema, the top-level attribute and maybe one sub-attribute. */
export interface ResolvedAttr {
  /** The schema URN, or null for the core schema. */
  extension: string | null;
  attr: AttrDef;
  sub?: AttrDef;
}

const find = (defs: AttrDef[] | undefined, name: string) => defs?.find((d) => d.name.toLowerCase() === name.toLowerCase());

/**
 * Splits a URN prefix off a path (`urn:…:enterprise:2.0:User:manager` → the extension and `manager`). The core
 * schema's own URN may prefix core attributes too. Returns null for an unknown URN.
 */
export function splitUrn(kind: ResourceKind, path: string): { extension: SchemaDef | null; rest: string } | null {
  if (!/^urn:/i.test(path)) return { extension: null, rest: path };
  const lower = path.toLowerCase();
  for (const schema of [kind.core, ...kind.extensions]) {
    const id = schema.id.toLowerCase();
    if (lower === id) return { extension: schema === kind.core ? null : schema, rest: '' };
    if (lower.startsWith(`${id}:`)) return { extension: schema === kind.core ? null : schema, rest: path.slice(id.length + 1) };
  }
  return null;
}

/**
 * Resolves `attr` or `attr.sub`, case-insensitively, in the core schema or in `extension`. Null when the kind
 * has no such attribute.
 */
export function resolveAttr(kind: ResourceKind, extension: SchemaDef | null, dotted: string): ResolvedAttr | null {
  const [first, second, ...more] = dotted.split('.');
  if (!first || more.length) return null;
  const attr = find((extension ?? kind.core).attributes, first);
  if (!attr) return null;
  const out: ResolvedAttr = { extension: extension?.id ?? null, attr };
  if (second !== undefined) {
    const sub = find(attr.subAttributes, second);
    if (!sub) return null;
    out.sub = sub;
  }
  return out;
}

/** Resolves a full attribute path as filters and `attributes=` name them (URN-qualified or not). */
export function resolvePath(kind: ResourceKind, path: string): ResolvedAttr | null {
  const split = splitUrn(kind, path);
  if (!split) return null;
  if (split.rest === '') return null;
  return resolveAttr(kind, split.extension, split.rest);
}

export { find as findAttr };
