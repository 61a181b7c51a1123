export { UserStore, type UserStoreOptions } from './user-store.js';
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
} from '../../core/users/types.js';
export { LIFECYCLES } from '../../core/users/types.js';
