"""Where each product keeps the setting a diagnosis asks the IT admin to change.

A fix is written in the vendor's own words: its console's menus and field labels (`**x**`
marks one, as the console shows it), so an Okta admin reads "Audience URI (SP Entity ID)"
and an Entra admin "Identifier (Entity ID)". A product without its own wording for a topic
falls back to the generic sentence, which names the SAML or OIDC concept instead.

Topics (the keys of each table):

    SAML  audience, acs, idp_issuer, certificate, signing, sha256, attributes, nameid,
          assignment, logs, clock, encryption, gcm
    OIDC  client_id, client_secret, redirect_uri, issuer, claims, assignment, signing_alg,
          logs, clock, keys, email_verified, grant
"""

from __future__ import annotations

from collections.abc import Mapping

from broker.model.vendors import product_name as product_name

_SAML_GENERIC: Mapping[str, str] = {
    "audience": "In your identity provider's settings for this application, set the "
    "**Audience** (also called SP Entity ID, Identifier or Audience Restriction) to:",
    "acs": "In your identity provider's settings for this application, set the **ACS URL** "
    "(Assertion Consumer Service URL; also called Reply URL, Single sign-on URL, Recipient or "
    "Destination) to:",
    "idp_issuer": "Give Gatehouse your identity provider's current metadata again (its "
    "metadata URL or file), or correct the **IdP entity ID** in Gatehouse's settings to "
    "the issuer your identity provider sends:",
    "certificate": "Download your identity provider's current **signing certificate** (or "
    "its metadata) and give it to Gatehouse in the connection's settings. While you change "
    "certificates, Gatehouse can trust the old and the new one side by side.",
    "signing": "In your identity provider's settings for this application, turn on signing "
    "of the **SAML response** and the **assertion**.",
    "sha256": "In your identity provider's settings for this application, set the "
    "**signature algorithm** to RSA-SHA256 (and the digest to SHA-256).",
    "attributes": "In your identity provider's settings for this application, add an "
    "attribute statement for each missing attribute, under the name shown:",
    "nameid": "In your identity provider's settings for this application, set the **NameID "
    "format** to persistent or email address (not transient).",
    "assignment": "Check that the user is assigned to (allowed to use) this application in "
    "your identity provider.",
    "logs": "Your identity provider's sign-in or audit log has the details of this refusal.",
    "clock": "Check the clock of your identity provider's server: it must be set by NTP.",
    "encryption": "If your identity provider encrypts assertions, it must encrypt them to "
    "Gatehouse's **encryption certificate**, from Gatehouse's SP metadata (re-import it "
    "there), with AES-GCM and RSA-OAEP (AES-CBC only where this connection allows it).",
    "gcm": "In your identity provider's settings for this application, set the assertion's "
    "**encryption algorithm** to AES256-GCM (or AES128-GCM), and the key transport to "
    "RSA-OAEP. If it offers no AES-GCM, turn assertion encryption off there (the assertion "
    "stays signed and travels over HTTPS), or ask the application's team to allow AES-CBC "
    "for this connection.",
}

_OIDC_GENERIC: Mapping[str, str] = {
    "client_id": "Copy the application's **client ID** from your identity provider into "
    "Gatehouse's settings. The ID token was issued to:",
    "client_secret": "Create a new **client secret** for this application in your identity "
    "provider, and give it to Gatehouse in the connection's settings.",
    "redirect_uri": "Register this **redirect URI** for the application in your identity "
    "provider, exactly:",
    "issuer": "Your identity provider must sign its tokens with the issuer its discovery "
    "document names, which is the issuer in Gatehouse's settings:",
    "claims": "Make sure the application receives the missing claims: request the scopes "
    "Gatehouse asks for (`openid email profile`) and add the claims to the ID token or "
    "userinfo under the names shown.",
    "assignment": "Check that the user is assigned to (allowed to use) this application in "
    "your identity provider, and that consent was given.",
    "signing_alg": "Set the application's **ID token signature algorithm** to RS256 (or ES256).",
    "logs": "Your identity provider's sign-in or audit log has the details of this refusal.",
    "clock": "Check the clock of your identity provider's server: it must be set by NTP.",
    "keys": "Your identity provider signed the ID token with a key it does not publish at "
    "its `jwks_uri`. Check the application's signing key settings; after a key rotation, "
    "wait a minute and test again.",
    "email_verified": "Mark the user's email address as verified in your identity "
    "provider, or sign in as a user whose address is verified.",
    "grant": "Allow the **authorization code** grant for this application (a web "
    "application with a client secret, not a single-page or native app).",
}

_SAML_VENDORS: Mapping[str, Mapping[str, str]] = {
    "okta": {
        "audience": "In the Okta Admin Console, open the app, **General** tab, **SAML "
        "Settings**, **Edit**, and set **Audience URI (SP Entity ID)** to:",
        "acs": "In the Okta Admin Console, open the app, **General** tab, **SAML Settings**, "
        "**Edit**, and set **Single sign-on URL** to the value below, with **Use this for "
        "Recipient URL and Destination URL** ticked:",
        "idp_issuer": "On the app's **Sign On** tab, copy the **Metadata URL** and give it "
        "to Gatehouse again (Okta's issuer is the **Identity Provider Issuer**, "
        "`http://www.okta.com/...`).",
        "certificate": "On the app's **Sign On** tab, under **SAML Signing Certificates**, "
        "find the **Active** certificate and download it (or copy the **Metadata URL**), "
        "then give it to Gatehouse.",
        "signing": "On the app's **General** tab, **SAML Settings**, **Edit**, **Show "
        "Advanced Settings**: set **Response** and **Assertion Signature** to **Signed**.",
        "sha256": "On the app's **General** tab, **SAML Settings**, **Edit**, **Show "
        "Advanced Settings**: set **Signature Algorithm** to **RSA-SHA256** and **Digest "
        "Algorithm** to **SHA256**.",
        "attributes": "On the app's **General** tab, **SAML Settings**, **Edit**, under "
        "**Attribute Statements** (or, in orgs that show them there, the **Sign On** tab, "
        "**SAML Attributes**, **Edit**), add each missing attribute (Name as shown, value "
        "`user.email`, `user.firstName`, `user.lastName`...; groups as a group attribute "
        "statement):",
        "nameid": "On the app's **General** tab, **SAML Settings**, **Edit**: set **Name ID "
        "format** to **EmailAddress** or **Persistent**.",
        "assignment": "On the app's **Assignments** tab, assign the user (or a group they are in).",
        "logs": "Okta's **Reports > System Log** has the details of this refusal.",
        "encryption": "On the app's **General** tab, **SAML Settings**, **Edit**, **Show "
        "Advanced Settings**: either set **Assertion Encryption** to **Unencrypted**, or "
        "upload Gatehouse's encryption certificate as the **Encryption Certificate**.",
        "gcm": "On the app's **General** tab, **SAML Settings**, **Edit**, **Show Advanced "
        "Settings**: set **Encryption Algorithm** to **AES256-GCM** and **Key Transport "
        "Algorithm** to **RSA-OAEP**.",
    },
    "entra": {
        "audience": "In the Microsoft Entra admin center, open **Enterprise applications**, "
        "the app, **Single sign-on**, **Basic SAML Configuration**, **Edit**, and set "
        "**Identifier (Entity ID)** to:",
        "acs": "In the Microsoft Entra admin center, open **Enterprise applications**, the "
        "app, **Single sign-on**, **Basic SAML Configuration**, **Edit**, and set **Reply URL "
        "(Assertion Consumer Service URL)** to:",
        "idp_issuer": "On the app's **Single sign-on** page, copy the **App Federation "
        "Metadata Url** (under **SAML Certificates**) and give it to Gatehouse again; the "
        "issuer is the **Microsoft Entra Identifier** (`https://sts.windows.net/<tenant "
        "id>/`).",
        "certificate": "On the app's **Single sign-on** page, under **SAML Certificates**, "
        "download **Certificate (Base64)** of the **Active** certificate (or copy the **App "
        "Federation Metadata Url**), then give it to Gatehouse.",
        "signing": "On the app's **Single sign-on** page, **SAML Certificates**, **Edit**: "
        "set **Signing Option** to **Sign SAML response and assertion**.",
        "sha256": "On the app's **Single sign-on** page, **SAML Certificates**, **Edit**: "
        "set **Signing Algorithm** to **SHA-256**.",
        "attributes": "On the app's **Single sign-on** page, **Attributes & Claims**, "
        "**Edit**: add each missing claim under the name shown (email: `user.mail`; groups: "
        "**Add a group claim**):",
        "nameid": "On the app's **Single sign-on** page, **Attributes & Claims**, **Unique "
        "User Identifier (Name ID)**: choose a persistent value (`user.objectid`) or "
        "`user.mail` as an email address.",
        "assignment": "On the app's **Users and groups** page, assign the user (or a group "
        "they are in).",
        "logs": "Entra's **Sign-in logs** (Monitoring & health) has the details of this "
        "refusal, with an AADSTS error code.",
        "encryption": "On the app's **Token encryption** page, either deactivate the "
        "certificate or import Gatehouse's encryption certificate there and activate it.",
    },
    "google": {
        "audience": "In the Google Admin console, go to **Apps > Web and mobile apps**, open "
        "the app, **Service provider details**, and set **Entity ID** to:",
        "acs": "In the Google Admin console, go to **Apps > Web and mobile apps**, open the "
        "app, **Service provider details**, and set **ACS URL** to:",
        "idp_issuer": "In the app's **Google Identity Provider details** (**Download "
        "metadata**), copy the **Entity ID** (`https://accounts.google.com/o/saml2?idpid="
        "...`) or the metadata file, and give it to Gatehouse again.",
        "certificate": "In the app's **Google Identity Provider details** (**Download "
        "metadata**), download the **Certificate** (or the IdP metadata), then give it to "
        "Gatehouse.",
        "signing": "In the app's **Service provider details**, tick **Signed response** "
        "(Google always signs the assertion).",
        "sha256": "Google Workspace signs with SHA-256: download its current certificate "
        "and metadata again.",
        "attributes": "In the app's **SAML attribute mapping**, add each missing attribute: "
        "choose the Google Directory field (**Primary email**, **First name**, **Last "
        "name**; **Group membership** for groups) and type the app attribute name shown:",
        "nameid": "In the app's **Service provider details**, set **Name ID format** to "
        "**EMAIL** or **PERSISTENT** and **Name ID** to **Basic Information > Primary "
        "email**.",
        "assignment": "In the app's **User access**, turn the service **ON for everyone** "
        "or for the user's organizational unit or group.",
        "logs": "Google's **Reporting > Audit and investigation > SAML log events** has the "
        "details of this refusal.",
    },
    "adfs": {
        "audience": "In AD FS Management, open **Relying Party Trusts**, the trust's "
        "**Properties**, the **Identifiers** tab, and add this **Relying party "
        "identifier**:",
        "acs": "In AD FS Management, open **Relying Party Trusts**, the trust's "
        "**Properties**, the **Endpoints** tab, and set the **SAML Assertion Consumer** "
        "endpoint (POST binding) to:",
        "idp_issuer": "The issuer is ADFS's **Federation Service Identifier** (AD FS "
        "Management, **Service**, **Edit Federation Service Properties**), usually "
        "`http://<your ADFS host>/adfs/services/trust`. Give Gatehouse the federation "
        "metadata again (`https://<your ADFS host>/FederationMetadata/2007-06/"
        "FederationMetadata.xml`).",
        "certificate": "In AD FS Management, **Service > Certificates**, open the primary "
        "**Token-signing** certificate, **Details**, **Copy to File** (Base-64), and give "
        "it to Gatehouse (or give it the federation metadata again).",
        "signing": "Run `Set-AdfsRelyingPartyTrust -TargetName <trust> "
        "-SamlResponseSignature MessageAndAssertion` on the ADFS server.",
        "sha256": "In the trust's **Properties**, **Advanced** tab, set **Secure hash "
        "algorithm** to **SHA-256**.",
        "attributes": "On the trust, **Edit Claim Issuance Policy**, **Add Rule**, **Send "
        "LDAP Attributes as Claims**: map **E-Mail-Addresses**, **Given-Name** and "
        "**Surname** (groups: **Token-Groups - Unqualified Names**) to the claim types "
        "shown:",
        "nameid": "On the trust, **Edit Claim Issuance Policy**: add a **Transform an "
        "Incoming Claim** rule that sends **Name ID** as **Persistent Identifier** or "
        "**Email**.",
        "assignment": "On the trust, **Edit Access Control Policy**: allow the user (or a "
        "group they are in).",
        "logs": "The ADFS server's **Event Viewer** (**Applications and Services Logs > AD "
        "FS > Admin**) has the details of this refusal.",
        "clock": "Check the ADFS server's clock: `w32tm /query /status`, and resynchronize "
        "it with `w32tm /resync`.",
        "encryption": "In the trust's **Properties**, **Encryption** tab, either remove the "
        "certificate or browse to Gatehouse's encryption certificate.",
    },
    "onelogin": {
        "audience": "In the OneLogin admin portal, open **Applications**, the app, the "
        "**Configuration** tab, and set **Audience (EntityID)** to:",
        "acs": "In the OneLogin admin portal, open the app's **Configuration** tab and set "
        "**Recipient** and **ACS (Consumer) URL** to the value below (and **ACS (Consumer) "
        "URL Validator** to match it):",
        "idp_issuer": "On the app's **SSO** tab, copy the **Issuer URL** and give it to "
        "Gatehouse again (it is also the metadata URL).",
        "certificate": "On the app's **SSO** tab, under **X.509 Certificate**, **View "
        "Details**, download the certificate (X.509 PEM) and give it to Gatehouse.",
        "signing": "On the app's **Configuration** tab, set **SAML signature element** to "
        "**Both**.",
        "sha256": "On the app's **SSO** tab, set **SAML Signature Algorithm** to **SHA-256**.",
        "attributes": "On the app's **Parameters** tab, add each missing parameter with the "
        "field name shown, tick **Include in SAML assertion**, and pick its value (Email, "
        "First Name, Last Name...):",
        "assignment": "Give the user access: add the app to a role they have (**Users > "
        "Roles**), or add it on the user's **Applications** tab.",
        "logs": "OneLogin's **Activity > Events** has the details of this refusal.",
    },
    "jumpcloud": {
        "audience": "In the JumpCloud Admin Portal, open **User Authentication > SSO "
        "Applications**, the app, the **SSO** tab, and set **SP Entity ID** to:",
        "acs": "In the JumpCloud Admin Portal, open the app's **SSO** tab and set **ACS URLs** to:",
        "idp_issuer": "On the app's **SSO** tab, the issuer is the **IdP Entity ID**; "
        "**Export Metadata** and give it to Gatehouse again.",
        "certificate": "On the app's **SSO** tab, download the IdP certificate (from the menu "
        "beside **IDP Certificate Valid**), or **Export Metadata**, and give it to Gatehouse.",
        "signing": "On the app's **SSO** tab, under **Sign**, sign the assertion (and the "
        "response, if offered).",
        "sha256": "On the app's **SSO** tab, set **Signature Algorithm** to **RSA-SHA256**.",
        "attributes": "On the app's **SSO** tab, under **Attributes**, **User Attribute "
        "Mapping**, add each missing one: the **Service Provider Attribute Name** shown and "
        "the **JumpCloud Attribute Name** (email, firstname, lastname; groups: **include "
        "group attribute** under **Group Attributes**):",
        "nameid": "On the app's **SSO** tab, set **SAMLSubject NameID** to email and "
        "**SAMLSubject NameID Format** to emailAddress or persistent.",
        "assignment": "On the app's **User Groups** tab, bind a group the user is in.",
        "logs": "JumpCloud's **Directory Insights** has the details of this refusal.",
    },
    "ping": {
        "audience": "In PingOne, open **Applications**, the app, the **Configuration** tab, "
        "and set **Entity ID** to the value below (PingFederate: the SP connection's "
        "**Partner's Entity ID (Connection ID)**):",
        "acs": "In PingOne, open the app's **Configuration** tab and set **ACS URLs** to the "
        "value below (PingFederate: the SP connection's **Assertion Consumer Service URL**):",
        "idp_issuer": "In PingOne, open the app and **Download Metadata** (on its "
        "**Overview** tab, or **Configuration** in older consoles; PingFederate: export "
        "the IdP's metadata) and give it to Gatehouse again; the issuer is its entity ID.",
        "certificate": "In PingOne, download the app's metadata again (**Download "
        "Metadata**: it holds the signing certificate; PingFederate: the SP connection's "
        "signing certificate) and give it to Gatehouse.",
        "signing": "On the app's **Configuration** tab, click the pencil and, under "
        "**Signing key**, choose to sign the assertion and the response.",
        "sha256": "On the app's **Configuration** tab, click the pencil and, under **Signing "
        "key**, choose the **RSA_SHA256** algorithm.",
        "attributes": "On the app's **Attribute Mappings** tab, add each missing attribute "
        "under the name shown, mapped to the PingOne attribute (Email Address, Given Name, "
        "Family Name...):",
        "assignment": "On the app's **Access** tab, add a group the user is in (and check "
        "the app is enabled).",
        "logs": "PingOne's **Monitoring > Audit** (PingFederate: its server log) has the "
        "details of this refusal.",
        "clock": "For PingFederate, check the server's clock: it must be set by NTP.",
    },
    "keycloak": {
        "audience": "In the Keycloak admin console, the SAML client's **Client ID** is the "
        "audience it sends: create the client with this **Client ID** (it cannot be "
        "renamed):",
        "acs": "In the Keycloak admin console, open **Clients**, the client, the "
        "**Settings** tab, and set **Master SAML Processing URL** (and, on the "
        "**Advanced** tab, **Assertion Consumer Service POST Binding URL**) to:",
        "idp_issuer": "Keycloak's issuer is the realm's URL, `https://<host>/realms/<realm>` "
        "(it changes with the realm's **Frontend URL**). Give Gatehouse the realm's SAML "
        "metadata again (`.../realms/<realm>/protocol/saml/descriptor`).",
        "certificate": "In **Realm settings**, **Keys** tab, copy the **Certificate** of the "
        "active RS256 key (or give Gatehouse the realm's SAML metadata again).",
        "signing": "On the client's **Settings** tab, under **Signature and Encryption**, "
        "turn on **Sign documents** and **Sign assertions**.",
        "sha256": "On the client's **Settings** tab, under **Signature and Encryption**, set "
        "**Signature algorithm** to **RSA_SHA256**.",
        "attributes": "On the client's **Client scopes** tab, open its dedicated scope, "
        "**Add mapper**, **By configuration**, **User Property** (email, firstName, "
        "lastName; groups: **Group list**), with **SAML Attribute Name** as shown:",
        "nameid": "On the client's **Settings** tab, set **Name ID format** to **email** or "
        "**persistent**.",
        "assignment": "Check the user exists and is enabled in the realm, and any client "
        "role or policy lets them in.",
        "logs": "Keycloak's **Realm settings > Events** (user events, when saved) has the "
        "details of this refusal.",
        "encryption": "On the client's **Keys** tab, either turn **Encrypt assertions** off "
        "or import Gatehouse's encryption certificate there.",
    },
}

_OIDC_VENDORS: Mapping[str, Mapping[str, str]] = {
    "okta": {
        "client_id": "In the Okta Admin Console, open the app's **General** tab: copy the "
        "**Client ID** under **Client Credentials** into Gatehouse's settings. The ID token "
        "was issued to:",
        "client_secret": "In the Okta Admin Console, open the app's **General** tab, "
        "**Client Credentials**: **Generate new secret** (or copy the active **Client "
        "secret**) and give it to Gatehouse.",
        "redirect_uri": "On the app's **General** tab, **General Settings**, **Edit**: add "
        "this to **Sign-in redirect URIs**:",
        "issuer": "Okta's issuer is your Okta domain (`https://<org>.okta.com`) for the org "
        "authorization server, or `https://<org>.okta.com/oauth2/default` for the default "
        "custom one: use the one the app signs in with. It must be exactly:",
        "claims": "Grant the `email` and `profile` scopes to the app (**Okta API Scopes** / "
        "the authorization server's **Access Policies**); for groups, on the **Sign On** "
        "tab edit **OpenID Connect ID Token** and set a **Groups claim filter**.",
        "assignment": "On the app's **Assignments** tab, assign the user (or a group they are in).",
        "signing_alg": "Okta signs ID tokens with RS256: check the app's settings and the issuer.",
        "logs": "Okta's **Reports > System Log** has the details of this refusal.",
        "grant": "On the app's **General** tab, **General Settings**, **Edit**: tick "
        "**Authorization Code** under **Grant type** (the app must be a **Web "
        "Application**).",
    },
    "entra": {
        "client_id": "In the Microsoft Entra admin center, open **App registrations**, the "
        "app, **Overview**, and copy the **Application (client) ID** into Gatehouse's "
        "settings. The ID token was issued to:",
        "client_secret": "In the Microsoft Entra admin center, open **App registrations**, "
        "the app, **Certificates & secrets**, **Client secrets**: secrets expire; add a "
        "**New client secret** and give its **Value** (not its Secret ID) to Gatehouse.",
        "redirect_uri": "Open **App registrations**, the app, **Authentication**, **Web** "
        "platform, and add this **Redirect URI**:",
        "issuer": "Entra's issuer is `https://login.microsoftonline.com/<tenant id>/v2.0`, "
        "with your **Directory (tenant) ID** from the app's **Overview**. It must be "
        "exactly:",
        "claims": "Open the app registration's **Token configuration**: **Add optional "
        "claim** (ID token: `email`, `given_name`, `family_name`) and **Add groups claim**. "
        "Users need a **Mail** value for `email`.",
        "assignment": "In **Enterprise applications**, the app, **Users and groups**: assign "
        "the user (with **Assignment required?** on under **Properties**), and grant admin "
        "consent under **API permissions** if needed.",
        "logs": "Entra's **Sign-in logs** (Monitoring & health) has the details of this "
        "refusal, with an AADSTS error code.",
        "keys": "Entra signs with the tenant's keys unless the app has its own signing key "
        "(claims mapping): then its JWKS needs `?appid=<client id>`. Check the app's "
        "**Single sign-on** and token settings, or test again after a key rotation.",
        "grant": "Open **App registrations**, the app, **Authentication**: the redirect URI "
        "must be under the **Web** platform (not SPA or mobile).",
    },
    "google": {
        "client_id": "In the Google Cloud console, **APIs & Services > Credentials**, open "
        "the **OAuth 2.0 Client ID** and copy its **Client ID** into Gatehouse's settings. "
        "The ID token was issued to:",
        "client_secret": "In the Google Cloud console, **APIs & Services > Credentials**, "
        "open the **OAuth 2.0 Client ID**: **Add secret** (or reset it) and give the new "
        "**Client secret** to Gatehouse.",
        "redirect_uri": "In the Google Cloud console, **APIs & Services > Credentials**, "
        "open the **OAuth 2.0 Client ID** and add this to **Authorized redirect URIs**:",
        "issuer": "Google's issuer is always `https://accounts.google.com`. It must be exactly:",
        "claims": "Google sends `email` and the names with the `email` and `profile` "
        "scopes; add them on the **OAuth consent screen** (**Data access**). Google's ID "
        "tokens carry no groups.",
        "assignment": "Set the **OAuth consent screen**'s **User type** to **Internal** and "
        "check the user's account is in your Workspace.",
        "logs": "Google's **Reporting > Audit and investigation > OAuth log events** has "
        "the details of this refusal.",
        "grant": "The OAuth client must be of type **Web application**.",
    },
    "onelogin": {
        "client_id": "In the OneLogin admin portal, open the OIDC app's **SSO** tab and copy "
        "the **Client ID** into Gatehouse's settings. The ID token was issued to:",
        "client_secret": "On the OIDC app's **SSO** tab, copy the **Client Secret** (or "
        "**Regenerate client secret**) and give it to Gatehouse; set the token endpoint's "
        "**Authentication Method** to **POST** or **Basic** to match.",
        "redirect_uri": "On the OIDC app's **Configuration** tab, add this to its redirect URIs:",
        "issuer": "OneLogin's issuer is `https://<subdomain>.onelogin.com/oidc/2` (the "
        "app's **SSO** tab, **Issuer URL**). It must be exactly:",
        "assignment": "Give the user access: add the app to a role they have (**Users > "
        "Roles**), or add it on the user's **Applications** tab.",
        "logs": "OneLogin's **Activity > Events** has the details of this refusal.",
        "grant": "On the app's **SSO** tab, set **Application Type** to **Web**.",
    },
    "jumpcloud": {
        "client_id": "In the JumpCloud Admin Portal, open the OIDC app's **SSO** tab and "
        "copy the **Client ID** (shown when the app was activated) into Gatehouse's "
        "settings. The ID token was issued to:",
        "client_secret": "JumpCloud shows the client secret only once, when the OIDC app is "
        "activated: on the app's **SSO** tab, create a new client secret and give it to "
        "Gatehouse.",
        "redirect_uri": "On the OIDC app's **SSO** tab, add this to **Redirect URIs**:",
        "issuer": "JumpCloud's issuer is `https://oauth.id.jumpcloud.com/`. It must be exactly:",
        "claims": "On the OIDC app's **SSO** tab, under **Attribute Mapping**, select the "
        "**Email** and **Profile** standard scopes; for groups, tick **include group "
        "attribute**.",
        "assignment": "On the app's **User Groups** tab, bind a group the user is in.",
        "logs": "JumpCloud's **Directory Insights** has the details of this refusal.",
    },
    "ping": {
        "client_id": "In PingOne, open **Applications > Applications**, the OIDC app, the "
        "**Configuration** tab: copy the **Client ID** into Gatehouse's settings. The ID "
        "token was issued to:",
        "client_secret": "In PingOne, open the OIDC app's **Configuration** tab: copy the "
        "**Client Secret** (or click the pencil and **Generate New Secret**) and give it "
        "to Gatehouse.",
        "redirect_uri": "On the OIDC app's **Configuration** tab, add this to **Redirect URIs**:",
        "issuer": "PingOne's issuer is `https://auth.pingone.<region>/<environment id>/as`. "
        "It must be exactly:",
        "claims": "On the OIDC app's **Resources** tab, allow the `email` and `profile` "
        "scopes; on the **Attribute Mappings** tab, add the missing claims.",
        "assignment": "On the app's **Access** tab, add a group the user is in (and check "
        "the app is enabled).",
        "logs": "PingOne's **Monitoring > Audit** has the details of this refusal.",
        "clock": "For PingFederate, check the server's clock: it must be set by NTP.",
        "grant": "On the OIDC app's **Configuration** tab, tick **Authorization Code** "
        "under **Grant Type**.",
    },
    "keycloak": {
        "client_id": "In the Keycloak admin console, **Clients**: the client's **Client ID** "
        "must be the one in Gatehouse's settings. The ID token was issued to:",
        "client_secret": "Open **Clients**, the client, the **Credentials** tab: copy the "
        "**Client Secret** (or **Regenerate**) and give it to Gatehouse. **Client "
        "authentication** must be on.",
        "redirect_uri": "Open **Clients**, the client, **Settings**, and add this to "
        "**Valid redirect URIs**:",
        "issuer": "Keycloak's issuer is `https://<host>/realms/<realm>` (it changes with the "
        "realm's **Frontend URL**). It must be exactly:",
        "claims": "On the client's **Client scopes** tab, keep `email` and `profile` as "
        "default scopes; for groups, add a **Group Membership** mapper with **Token Claim "
        "Name** `groups`.",
        "assignment": "Check the user exists and is enabled in the realm.",
        "signing_alg": "On the client's **Advanced** tab, under **Fine grain OpenID Connect "
        "configuration**, set **ID token signature algorithm** to **RS256**.",
        "logs": "Keycloak's **Realm settings > Events** (user events, when saved) has the "
        "details of this refusal.",
        "clock": "Check the Keycloak server's clock: it must be set by NTP.",
        "email_verified": "In **Users**, open the user and turn **Email verified** on.",
        "grant": "On the client's **Settings** tab, keep **Standard flow** on and **Client "
        "authentication** on.",
    },
}


def fix_text(strategy: str | None, protocol: str, topic: str) -> str:
    """The vendor's sentence for `topic`, else the generic one."""
    vendors = _SAML_VENDORS if protocol == "saml" else _OIDC_VENDORS
    generic = _SAML_GENERIC if protocol == "saml" else _OIDC_GENERIC
    own = vendors.get(strategy or "", {})
    return own.get(topic) or generic[topic]


def topics(protocol: str) -> frozenset[str]:
    return frozenset(_SAML_GENERIC if protocol == "saml" else _OIDC_GENERIC)


def vendor_tables(protocol: str) -> Mapping[str, Mapping[str, str]]:
    """Every product's own wording, for the test that holds each to a known topic."""
    return _SAML_VENDORS if protocol == "saml" else _OIDC_VENDORS
