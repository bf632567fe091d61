/**
 * Gatehouse: the organization behind a login, in the app's tokens.
 *
 * Auth0: Actions > Library > Create Action > Login / Post Login; paste, Deploy, then add
 * it to the Login flow. Written by `gatehouse auth0 action` for the connection
 * "__CONNECTION__".
 *
 * The Gatehouse connection's attribute mapping put these claims on the Auth0 user
 * profile; Auth0 does not add profile attributes to tokens by itself. They go in under a
 * namespace, so they cannot collide with Auth0's own claims.
 */
exports.onExecutePostLogin = async (event, api) => {
  if (event.connection.name !== "__CONNECTION__") {
    return;
  }
  const namespace = "__NAMESPACE__";
  const claims = [
    "organization_id",
    "organization_name",
    "connection_id",
    "idp_type",
    "idp_groups",
    "directory_groups",
    "directory_groups_truncated",
  ];
  const identity = (event.user.identities || []).find(
    (i) => i.connection === event.connection.name,
  );
  const profile = (identity && identity.profileData) || {};
  for (const claim of claims) {
    const value = event.user[claim] !== undefined ? event.user[claim] : profile[claim];
    // A claim the ID token did not carry (directory_groups without a directory) may reach
    // the profile as an empty mapping result: it is not passed on.
    if (value === undefined || value === null || value === "") {
      continue;
    }
    api.idToken.setCustomClaim(namespace + claim, value);
    api.accessToken.setCustomClaim(namespace + claim, value);
  }
};
