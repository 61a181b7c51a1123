export { UserStore, type UserStoreOptions } from './user-store.js';
export { linkReplayed, refusalError, type LoginExtras, type LoginRefusal } from './login-sync.js';
export { userToJson, PROFILE_COLUMNS, PROFILE_FIELDS } from './row.js';
export type {
  AttributeChanges,
  AttributeGrant,
  Grant,
  Lifecycle,
  LoginSyncInput,
  LoginSyncResult,
  NameChanges,
  SourceGrants,
  UserAuthState,
  UserChanges,
  UserIdentity,
  UserRecord,
  UserStatusEntry,
  UserType,
} from './types.js';
export { LIFECYCLES } from './types.js';
