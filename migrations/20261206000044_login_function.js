// A login's whole database work in one statement: `claimgate_login(jsonb) RETURNS jsonb` spends the sign-in link, finds
// or creates the user, follows a rename, binds the identity, writes only the profile fields, grants and attributes that
// changed (each change audited as before), keeps the login's claims, starts the session and audits the login. It runs
// as one statement, so atomically; the gateway calls it once per sign-in (src/store/users/login-sync.ts builds its
// argument and reads its answer). The same function runs on PostgreSQL and on the embedded PGlite.

const LOGIN_FUNCTION = `
CREATE FUNCTION claimgate_login(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $login$
DECLARE
  v_at timestamptz := (p->>'at')::timestamptz;
  v_day timestamptz := (p->>'day')::timestamptz;
  v_issuer text := p->>'issuer_id';
  v_iss text := p->>'iss';
  v_sub text := p->>'sub';
  v_usercode text := p->>'usercode';
  v_source text := p->>'source';
  v_actor text := p->>'actor';
  v_created boolean := false;
  v_found boolean := false;
  v_bound text;
  v_refused text;
  v_renamed_from text;
  v_linked boolean := false;
  v_ids integer;
  v_mine boolean;
  u users%ROWTYPE;
  v_old jsonb;
  v_set jsonb := '{}';
  v_fields jsonb := '[]';
  v_before jsonb := '{}';
  v_after jsonb := '{}';
  v_changes jsonb := '{}';
  v_field jsonb;
  v_prev jsonb;
  v_kind text;
  v_key text;
  v_wanted jsonb;
  v_have jsonb;
  v_added jsonb;
  v_removed jsonb;
  v_diff jsonb;
  v_detail jsonb;
  v_changed jsonb;
  v_bumped boolean := false;
  v_user jsonb;
BEGIN
  -- The sign-in link is spent first: a replay writes nothing else.
  IF jsonb_typeof(p->'spend') = 'object' THEN
    INSERT INTO used_jtis (issuer_id, jti, expires_at)
      VALUES (p#>>'{spend,issuer_id}', p#>>'{spend,jti}', (p#>>'{spend,expires_at}')::timestamptz)
      ON CONFLICT (issuer_id, jti) DO NOTHING;
    IF NOT FOUND AND (p#>>'{spend,once}')::boolean THEN
      RETURN jsonb_build_object('refused', 'jti_replayed');
    END IF;
  END IF;

  -- Lookup: the (iss, sub) binding first, then the usercode; the user row is locked for the rest.
  SELECT user_id INTO v_bound FROM user_identities WHERE iss = v_iss AND sub = v_sub;
  IF FOUND THEN
    SELECT * INTO u FROM users WHERE id = v_bound FOR UPDATE;
    v_found := FOUND;
  END IF;
  IF v_found THEN
    IF u.lifecycle <> 'ACTIVE' THEN
      v_refused := 'user_suspended';
    ELSIF u.usercode <> v_usercode THEN
      -- The IdP renamed the person: follow, unless the new usercode belongs to someone else.
      IF EXISTS (SELECT 1 FROM users WHERE lower(usercode) = lower(v_usercode) AND id <> u.id) THEN
        v_refused := 'identity_conflict';
      ELSE
        v_renamed_from := u.usercode;
      END IF;
    END IF;
  ELSE
    SELECT * INTO u FROM users WHERE lower(usercode) = lower(v_usercode) FOR UPDATE;
    v_found := FOUND;
    IF NOT v_found THEN
      IF NOT (p->>'create_users')::boolean THEN
        v_refused := 'user_not_provisioned';
      ELSE
        FOR v_field IN SELECT value FROM jsonb_array_elements(p->'profile') LOOP
          v_set := v_set || jsonb_build_object(v_field->>'column', v_field->'value');
          v_fields := v_fields || jsonb_build_array(v_field->>'field');
        END LOOP;
        INSERT INTO users (id, usercode, idp_source, idp_reference_id, idp_username, idp_workforce_id, idp_cloud_username,
                           display_name, first_name, last_name, email, user_type, tags,
                           created_at, updated_at, last_login_at, last_activity_at)
          VALUES (p->>'new_id', v_usercode, v_set->>'idp_source', v_set->>'idp_reference_id', v_set->>'idp_username',
                  v_set->>'idp_workforce_id', v_set->>'idp_cloud_username', v_set->>'display_name', v_set->>'first_name',
                  v_set->>'last_name', v_set->>'email', coalesce(v_set->>'user_type', 'PERSON'), coalesce(v_set->'tags', '[]'),
                  v_at, v_at, v_at, v_day)
          ON CONFLICT DO NOTHING
          RETURNING * INTO u;
        IF FOUND THEN
          v_created := true;
        ELSE
          -- Someone else created it a moment ago (we waited for their commit): use theirs.
          v_fields := '[]';
          v_set := '{}';
          SELECT * INTO u FROM users WHERE lower(usercode) = lower(v_usercode) FOR UPDATE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'concurrent change: user created and removed' USING ERRCODE = '40001';
          END IF;
        END IF;
      END IF;
    END IF;
    IF v_refused IS NULL AND NOT v_created THEN
      SELECT count(*), coalesce(bool_or(iss = v_iss AND sub = v_sub), false) INTO v_ids, v_mine
        FROM user_identities WHERE user_id = u.id;
      IF NOT v_mine AND v_ids > 0 AND NOT (p->>'link_existing')::boolean THEN
        v_refused := 'identity_conflict';
      ELSIF u.lifecycle <> 'ACTIVE' THEN
        v_refused := 'user_suspended';
      ELSIF NOT v_mine THEN
        -- Unbound (provisioned beforehand): this login claims it; or, linking existing users, joins it.
        v_linked := true;
      END IF;
    END IF;
  END IF;

  IF v_refused IS NOT NULL THEN
    -- Nothing of the user was written. The refusal is audited here when the caller asks (a sign-in).
    IF jsonb_typeof(p->'denied') = 'object' THEN
      INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
        VALUES ((p#>>'{denied,at}')::timestamptz, 'login_denied', NULL, v_usercode, v_actor, v_source,
                jsonb_build_object('issuer', v_issuer, 'sub', v_sub, 'code', v_refused, 'purpose', p#>'{denied,purpose}'));
    END IF;
    RETURN jsonb_build_object('refused', v_refused);
  END IF;

  IF v_created OR v_linked THEN
    INSERT INTO user_identities (user_id, issuer_id, iss, sub, created_at) VALUES (u.id, v_issuer, v_iss, v_sub, v_at)
      ON CONFLICT (iss, sub) DO NOTHING;
    IF NOT FOUND THEN
      -- Bound to someone else between the lookup and now (a concurrent rename): the caller starts over.
      RAISE EXCEPTION 'concurrent change: identity bound concurrently' USING ERRCODE = '40001';
    END IF;
    IF v_created THEN
      INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
        VALUES (v_at, 'user_created', u.id, u.usercode, v_actor, v_source,
                jsonb_build_object('issuer', v_issuer, 'iss', v_iss, 'sub', v_sub, 'fields', v_fields));
    ELSE
      INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
        VALUES (v_at, 'identity_linked', u.id, u.usercode, v_actor, v_source,
                jsonb_build_object('issuer', v_issuer, 'iss', v_iss, 'sub', v_sub, 'claimed', v_ids = 0));
      v_changes := v_changes || jsonb_build_object('identityLinked', true);
    END IF;
  END IF;

  -- Profile: the fields whose value differs from the stored one (onCreate fields only at creation).
  IF NOT v_created THEN
    v_old := to_jsonb(u);
    FOR v_field IN SELECT value FROM jsonb_array_elements(p->'profile') LOOP
      CONTINUE WHEN (v_field->>'on_create')::boolean;
      v_prev := v_old->(v_field->>'column');
      IF v_prev IS DISTINCT FROM v_field->'value' THEN
        v_set := v_set || jsonb_build_object(v_field->>'column', v_field->'value');
        v_fields := v_fields || jsonb_build_array(v_field->>'field');
        v_before := v_before || jsonb_build_object(v_field->>'field', v_prev);
        v_after := v_after || jsonb_build_object(v_field->>'field', v_field->'value');
      END IF;
    END LOOP;
    IF v_renamed_from IS NOT NULL THEN
      v_changes := v_changes || jsonb_build_object('renamedFrom', v_renamed_from);
    END IF;
    IF jsonb_array_length(v_fields) > 0 OR v_renamed_from IS NOT NULL THEN
      INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
        VALUES (v_at, 'profile_change', u.id, v_usercode, v_actor, v_source,
                CASE WHEN v_renamed_from IS NULL
                  THEN jsonb_build_object('fields', v_fields, 'before', v_before, 'after', v_after)
                  ELSE jsonb_build_object('fields', jsonb_build_array('usercode') || v_fields,
                                          'before', jsonb_build_object('usercode', v_renamed_from) || v_before,
                                          'after', jsonb_build_object('usercode', v_usercode) || v_after)
                END);
    END IF;
  END IF;
  v_changes := v_changes || jsonb_build_object('profile', v_fields);

  -- Roles and permissions of this source: only the differences are written, each kind audited as role_change.
  FOREACH v_kind IN ARRAY ARRAY['role', 'permission'] LOOP
    v_key := CASE v_kind WHEN 'role' THEN 'roles' ELSE 'permissions' END;
    v_wanted := p->v_key;
    SELECT coalesce(jsonb_agg(name ORDER BY name COLLATE "C"), '[]') INTO v_have
      FROM user_grants WHERE user_id = u.id AND source = v_source AND kind = v_kind;
    SELECT coalesce(jsonb_agg(x ORDER BY i), '[]') INTO v_added
      FROM jsonb_array_elements_text(v_wanted) WITH ORDINALITY AS t(x, i) WHERE NOT v_have ? x;
    SELECT coalesce(jsonb_agg(x ORDER BY i), '[]') INTO v_removed
      FROM jsonb_array_elements_text(v_have) WITH ORDINALITY AS t(x, i) WHERE NOT v_wanted ? x;
    CONTINUE WHEN jsonb_array_length(v_added) = 0 AND jsonb_array_length(v_removed) = 0;
    IF jsonb_array_length(v_removed) > 0 THEN
      DELETE FROM user_grants WHERE user_id = u.id AND source = v_source AND kind = v_kind
        AND name IN (SELECT jsonb_array_elements_text(v_removed));
    END IF;
    IF jsonb_array_length(v_added) > 0 THEN
      INSERT INTO user_grants (user_id, kind, name, source)
        SELECT u.id, v_kind, x, v_source FROM jsonb_array_elements_text(v_added) AS t(x)
        ON CONFLICT DO NOTHING;
    END IF;
    v_diff := jsonb_build_object('before', v_have, 'after', v_wanted, 'added', v_added, 'removed', v_removed);
    v_changes := v_changes || jsonb_build_object(v_key, v_diff);
    v_detail := jsonb_build_object('kind', v_kind, 'source', v_source) || v_diff;
    IF jsonb_typeof(p->'mapping') = 'object' THEN
      -- The mapping version and, for each added name, the rules that produced it.
      v_detail := v_detail || jsonb_build_object(
        'mappingVersion', p#>'{mapping,version}',
        'grantedBy', coalesce((SELECT jsonb_object_agg(x, p#>ARRAY['mapping', 'rules', v_key, x])
                                 FROM jsonb_array_elements_text(v_added) AS t(x)
                                WHERE p#>ARRAY['mapping', 'rules', v_key] ? x), '{}'));
    END IF;
    INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
      VALUES (v_at, 'role_change', u.id, v_usercode, v_actor, v_source, v_detail);
  END LOOP;

  -- Attributes of this source, likewise.
  SELECT coalesce(jsonb_object_agg(name, "values"), '{}') INTO v_have
    FROM user_attributes WHERE user_id = u.id AND source = v_source;
  v_wanted := p->'attributes';
  SELECT coalesce(jsonb_agg(k ORDER BY k COLLATE "C"), '[]') INTO v_changed FROM (
    SELECT k FROM jsonb_object_keys(v_wanted) AS t(k) WHERE v_have->k IS DISTINCT FROM v_wanted->k
    UNION ALL
    SELECT k FROM jsonb_object_keys(v_have) AS t(k) WHERE NOT v_wanted ? k) AS c;
  IF jsonb_array_length(v_changed) > 0 THEN
    SELECT coalesce(jsonb_agg(k ORDER BY k COLLATE "C"), '[]') INTO v_removed
      FROM jsonb_object_keys(v_have) AS t(k) WHERE NOT v_wanted ? k;
    SELECT coalesce(jsonb_agg(k ORDER BY k COLLATE "C"), '[]') INTO v_added
      FROM jsonb_object_keys(v_wanted) AS t(k) WHERE NOT v_have ? k;
    IF jsonb_array_length(v_removed) > 0 THEN
      DELETE FROM user_attributes WHERE user_id = u.id AND source = v_source
        AND name IN (SELECT jsonb_array_elements_text(v_removed));
    END IF;
    INSERT INTO user_attributes (user_id, source, name, "values")
      SELECT u.id, v_source, k, v_wanted->k FROM jsonb_object_keys(v_wanted) AS t(k)
       WHERE v_have->k IS DISTINCT FROM v_wanted->k
      ON CONFLICT (user_id, source, name) DO UPDATE SET "values" = EXCLUDED."values";
    v_changes := v_changes || jsonb_build_object('attributes', jsonb_build_object('before', v_have, 'after', v_wanted, 'changed', v_changed));
    INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
      VALUES (v_at, 'role_change', u.id, v_usercode, v_actor, v_source,
              jsonb_build_object('kind', 'attribute', 'source', v_source, 'before', v_have, 'after', v_wanted,
                                 'added', v_added, 'removed', v_removed, 'changed', v_changed));
  END IF;

  -- The users row: written only when something changed, last_login_at at most once per precision window, the
  -- activity day once a day.
  v_bumped := NOT v_created AND (jsonb_array_length(v_fields) > 0 OR v_renamed_from IS NOT NULL
                                 OR v_changes ? 'roles' OR v_changes ? 'permissions' OR v_changes ? 'attributes');
  IF v_bumped THEN
    UPDATE users SET
      idp_source = CASE WHEN v_set ? 'idp_source' THEN v_set->>'idp_source' ELSE idp_source END,
      idp_reference_id = CASE WHEN v_set ? 'idp_reference_id' THEN v_set->>'idp_reference_id' ELSE idp_reference_id END,
      idp_username = CASE WHEN v_set ? 'idp_username' THEN v_set->>'idp_username' ELSE idp_username END,
      idp_workforce_id = CASE WHEN v_set ? 'idp_workforce_id' THEN v_set->>'idp_workforce_id' ELSE idp_workforce_id END,
      idp_cloud_username = CASE WHEN v_set ? 'idp_cloud_username' THEN v_set->>'idp_cloud_username' ELSE idp_cloud_username END,
      display_name = CASE WHEN v_set ? 'display_name' THEN v_set->>'display_name' ELSE display_name END,
      first_name = CASE WHEN v_set ? 'first_name' THEN v_set->>'first_name' ELSE first_name END,
      last_name = CASE WHEN v_set ? 'last_name' THEN v_set->>'last_name' ELSE last_name END,
      email = CASE WHEN v_set ? 'email' THEN v_set->>'email' ELSE email END,
      user_type = CASE WHEN v_set ? 'user_type' THEN v_set->>'user_type' ELSE user_type END,
      tags = CASE WHEN v_set ? 'tags' THEN v_set->'tags' ELSE tags END,
      usercode = CASE WHEN v_renamed_from IS NOT NULL THEN v_usercode ELSE usercode END,
      version = version + 1,
      updated_at = v_at,
      last_login_at = v_at,
      last_activity_at = CASE WHEN last_activity_at IS NULL OR last_activity_at < v_day THEN v_day ELSE last_activity_at END
    WHERE id = u.id;
  ELSIF NOT v_created AND (u.last_login_at IS NULL OR v_at - u.last_login_at >= (p->>'login_precision_ms')::bigint * interval '1 millisecond'
                           OR v_at < u.last_login_at) THEN
    UPDATE users SET last_login_at = v_at,
      last_activity_at = CASE WHEN last_activity_at IS NULL OR last_activity_at < v_day THEN v_day ELSE last_activity_at END
    WHERE id = u.id;
  ELSIF NOT v_created AND (u.last_activity_at IS NULL OR u.last_activity_at < v_day) THEN
    UPDATE users SET last_activity_at = v_day WHERE id = u.id;
  END IF;

  IF jsonb_typeof(p->'claims') = 'object' THEN
    INSERT INTO login_claims (user_id, issuer_id, at, claims) VALUES (u.id, v_issuer, v_at, p->'claims');
  END IF;

  SELECT to_jsonb(x) INTO v_user FROM (
    SELECT f.*,
      (SELECT coalesce(json_agg(json_build_object('kind', g.kind, 'name', g.name, 'source', g.source)), '[]'::json)
         FROM user_grants g WHERE g.user_id = f.id) AS grants,
      (SELECT coalesce(json_agg(json_build_object('name', a.name, 'source', a.source, 'values', a."values")), '[]'::json)
         FROM user_attributes a WHERE a.user_id = f.id) AS attrs,
      (SELECT coalesce(json_agg(json_build_object('issuer_id', i.issuer_id, 'iss', i.iss, 'sub', i.sub, 'created_at', i.created_at)), '[]'::json)
         FROM user_identities i WHERE i.user_id = f.id) AS identities
    FROM users f WHERE f.id = u.id) AS x;

  -- The session of a sign-in, and its audit line, in the same statement.
  IF jsonb_typeof(p->'session') = 'object' THEN
    INSERT INTO sessions (id_hash, user_id, issuer_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at, data)
      VALUES (p#>>'{session,id_hash}', u.id, v_issuer, (p#>>'{session,created_at}')::timestamptz,
              (p#>>'{session,last_seen_at}')::timestamptz, (p#>>'{session,idle_expires_at}')::timestamptz,
              (p#>>'{session,absolute_expires_at}')::timestamptz, p#>'{session,data}');
    INSERT INTO audit_events (at, type, user_id, usercode, actor, source, detail)
      VALUES ((p#>>'{session,audit_at}')::timestamptz, 'login', u.id, v_user->>'usercode', v_actor, v_source,
              jsonb_build_object('issuer', v_issuer, 'created', v_created, 'changed', v_created OR v_bumped));
  END IF;

  RETURN jsonb_build_object('user', v_user, 'created', v_created, 'bumped', v_bumped, 'changes', v_changes);
END
$login$`;

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function up(knex) {
  // knex reads every `?` as a placeholder unless escaped; the jsonb operators need them as they are.
  await knex.raw(LOGIN_FUNCTION.replace(/\?/g, '\\?'));
}

/**
 * @param {import('knex').Knex} knex
 * @returns {Promise<void>}
 */
export async function down(knex) {
  await knex.raw('DROP FUNCTION IF EXISTS claimgate_login(jsonb)');
}
