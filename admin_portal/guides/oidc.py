"""OpenID Connect guides, one per product: registering Gatehouse as a web application
(a confidential client using the authorization code flow) in the vendor's own console.

The admin brings back three things: the issuer, the client ID and the client secret.
Menu names and field labels are the consoles' own; `**x**` marks one as the console shows it.
"""

from __future__ import annotations

from admin_portal.guides.model import Guide, Step

_OIDC = "oidc"
_STANDARD = {
    "email": "the **email** scope",
    "given_name": "the **profile** scope",
    "family_name": "the **profile** scope",
    "name": "the **profile** scope",
}

OKTA = Guide(
    strategy="okta",
    protocol=_OIDC,
    product="Okta",
    console="the Okta Admin Console",
    steps=(
        Step(
            "In the Okta Admin Console, go to **Applications > Applications** and click "
            "**Create App Integration**."
        ),
        Step(
            "Choose **OIDC - OpenID Connect** as the sign-in method and **Web Application** "
            "as the application type, then click **Next**."
        ),
        Step(
            "Name the app, keep **Authorization Code** ticked under **Grant type**, and "
            "paste the redirect URI into **Sign-in redirect URIs** (remove the example "
            "sign-out redirect URI).",
            values=("redirect_uri",),
        ),
        Step(
            "Under **Assignments**, choose who may sign in (yourself included, for the "
            "test login) and click **Save**."
        ),
        Step(
            "Gatehouse asks for the scopes below; the claims come with them. For groups, "
            "on the **Sign On** tab edit **OpenID Connect ID Token**: **Groups claim type** "
            "Filter, claim name `groups`, **Matches regex** `.*`.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "On the **General** tab, under **Client Credentials**, copy the **Client ID** "
            "and the **Client secret**. Your issuer is your Okta domain, "
            "`https://<your org>.okta.com`."
        ),
    ),
    sources={**_STANDARD, "groups": "the groups claim set on the **Sign On** tab"},
    bring_back=(
        "The issuer (`https://<your org>.okta.com`).",
        "The **Client ID**.",
        "The **Client secret**.",
    ),
)

ENTRA = Guide(
    strategy="entra",
    protocol=_OIDC,
    product="Microsoft Entra ID",
    console="the Microsoft Entra admin center",
    steps=(
        Step(
            "In the Microsoft Entra admin center, open **App registrations** and click "
            "**New registration**."
        ),
        Step(
            "Enter a name. Under **Supported account types** choose **Accounts in this "
            "organizational directory only** (single tenant). Under **Redirect URI**, "
            "choose the **Web** platform and paste the redirect URI. Click **Register**.",
            values=("redirect_uri",),
        ),
        Step(
            "Open **Certificates & secrets**, click **New client secret**, and copy its "
            "**Value** right away: Entra shows it only once."
        ),
        Step(
            "Open **Token configuration** and click **Add optional claim**: token type "
            "**ID**, tick **email**, **given_name** and **family_name**. For groups, click "
            "**Add groups claim**. Gatehouse asks for the scopes below.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "On the **Overview**, copy the **Application (client) ID** and the **Directory "
            "(tenant) ID**. Your issuer is `https://login.microsoftonline.com/<Directory "
            "(tenant) ID>/v2.0`."
        ),
    ),
    sources={
        "email": "the **email** optional claim; without it Gatehouse reads "
        "`preferred_username`, the user principal name",
        "given_name": "the **given_name** optional claim",
        "family_name": "the **family_name** optional claim",
        "name": "the **profile** scope",
        "groups": "**Add groups claim** (Token configuration)",
    },
    bring_back=(
        "The issuer, `https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0`.",
        "The **Application (client) ID**.",
        "The client secret's **Value**.",
    ),
    notes=(
        "Use your tenant's issuer, never `common` or `organizations`: those would let "
        "any Microsoft account sign in, and Gatehouse refuses them.",
    ),
)

GOOGLE = Guide(
    strategy="google",
    protocol=_OIDC,
    product="Google Workspace",
    console="the Google Cloud console",
    steps=(
        Step(
            "In the Google Cloud console, choose (or create) a project of your Workspace "
            "organization. Under **Google Auth Platform > Audience** (in older consoles, "
            "**APIs & Services > OAuth consent screen**), set the **User type** to "
            "**Internal**, so only your Workspace's accounts can use it."
        ),
        Step(
            "Go to **Google Auth Platform > Clients** and click **Create client** (in older "
            "consoles, **APIs & Services > Credentials > Create credentials > OAuth client "
            "ID**), and choose **Web application** as the **Application type**."
        ),
        Step(
            "Under **Authorized redirect URIs**, click **Add URI** and paste the redirect "
            "URI. Click **Create**.",
            values=("redirect_uri",),
        ),
        Step(
            "Gatehouse asks for the scopes below. Google adds the `hd` claim, your "
            "Workspace domain: Gatehouse accepts a person only when it is one of your "
            "verified domains, so personal Gmail accounts never get in.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "Copy the **Client ID** and the **Client secret** right away: Google shows the "
            "secret only when the client is created. Your issuer is "
            "`https://accounts.google.com`."
        ),
    ),
    sources={**_STANDARD, "groups": "none: Google sends no groups in its ID token"},
    bring_back=(
        "The issuer, `https://accounts.google.com`.",
        "The **Client ID**.",
        "The **Client secret**.",
    ),
)

ONELOGIN = Guide(
    strategy="onelogin",
    protocol=_OIDC,
    product="OneLogin",
    console="the OneLogin administration",
    steps=(
        Step(
            "In OneLogin's administration, go to **Applications > Applications** and click "
            "**Add App**. Search for **OpenId Connect (OIDC)**, select it, enter a "
            "**Display Name** and click **Save**."
        ),
        Step(
            "On the **Configuration** tab, add the redirect URI to the app's redirect URIs "
            "and click **Save**.",
            values=("redirect_uri",),
        ),
        Step(
            "On the **SSO** tab, set **Application Type** to **Web** and the token "
            "endpoint's **Authentication Method** to **Basic** (or **POST**: choose the "
            "same on the next page).",
            attributes=True,
            values=("scopes",),
        ),
        Step(
            "Give the people who will sign in access to the app, yourself included: add the "
            "app to a role they have (**Users > Roles**), or add it on a user's "
            "**Applications** tab."
        ),
        Step(
            "On the **SSO** tab, copy the **Client ID** and the **Client Secret**. Your "
            "issuer is `https://<your subdomain>.onelogin.com/oidc/2`."
        ),
    ),
    sources={**_STANDARD, "groups": "a `groups` claim, if you set OneLogin to send one"},
    bring_back=(
        "The issuer (`https://<your subdomain>.onelogin.com/oidc/2`).",
        "The **Client ID**.",
        "The **Client Secret**.",
    ),
)

JUMPCLOUD = Guide(
    strategy="jumpcloud",
    protocol=_OIDC,
    product="JumpCloud",
    console="the JumpCloud Admin Portal",
    steps=(
        Step(
            "In the JumpCloud Admin Portal, go to **User Authentication > SSO Applications** "
            "and click **+ Add New Application**. Select the **Custom Application** tile, "
            "click **Next**, select **Manage Single Sign-On (SSO)** and **Configure SSO with "
            "OIDC**, and click **Next**. Enter a **Display Label**, click **Next**, then "
            "**Configure Application**."
        ),
        Step(
            "On the **SSO** tab, paste the redirect URI into **Redirect URIs**, set "
            "**Client Authentication Type** to **Client Secret Basic**, and enter the "
            "application's address as **Login URL**.",
            values=("redirect_uri",),
        ),
        Step(
            "Under **Attribute Mapping**, select the **Email** and **Profile** standard "
            "scopes. For groups, tick **include group attribute** and name it `groups`.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "On the **User Groups** tab, choose the groups who will sign in, then click "
            "**Activate**. Copy the **Client ID** and **Client Secret** JumpCloud shows "
            "then: the secret is shown only once. Your issuer is "
            "`https://oauth.id.jumpcloud.com/` (an organization hosted in another JumpCloud "
            "region has its own host: check its `/.well-known/openid-configuration`)."
        ),
    ),
    sources={**_STANDARD, "groups": "**include group attribute**, named `groups`"},
    bring_back=(
        "The issuer, `https://oauth.id.jumpcloud.com/`.",
        "The **Client ID**.",
        "The **Client Secret**.",
    ),
)

PING = Guide(
    strategy="ping",
    protocol=_OIDC,
    product="PingOne / PingFederate",
    console="the PingOne admin console",
    steps=(
        Step(
            "In the PingOne admin console, go to **Applications > Applications** and click "
            "the **+** icon. Enter the **Application Name**, choose **OIDC Web App** and click "
            "**Save**."
        ),
        Step(
            "On the **Configuration** tab, click the pencil: paste the redirect URI into "
            "**Redirect URIs** and set **Token Endpoint Authentication Method** to "
            "**Client Secret Basic**. Click **Save**.",
            values=("redirect_uri",),
        ),
        Step(
            "On the **Resources** tab, click the pencil and allow the **email** and "
            "**profile** scopes. For groups, add a `groups` attribute on the **Attribute "
            "Mappings** tab.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "On the **Access** tab, click the pencil and add the groups who will sign in. "
            "Then turn the application on with the toggle at the top of its details."
        ),
        Step(
            "On the **Configuration** tab, copy the **Client ID**, the **Client Secret** "
            "and the **Issuer** (`https://auth.pingone.<region>/<environment ID>/as`, for "
            "example `auth.pingone.com` or `auth.pingone.eu`)."
        ),
    ),
    sources={**_STANDARD, "groups": "a `groups` attribute mapped to **Group Names**"},
    bring_back=("The **Issuer**.", "The **Client ID**.", "The **Client Secret**."),
    notes=(
        "With PingFederate: under **Applications > OAuth > Clients**, click **Add Client**, "
        "choose **Client Secret** under **Client Authentication**, add the redirect URI "
        "above under **Redirect URIs**, tick **Authorization Code** under **Allowed Grant "
        "Types**, and pick an OpenID Connect policy; your issuer is PingFederate's base "
        "URL.",
    ),
)

KEYCLOAK = Guide(
    strategy="keycloak",
    protocol=_OIDC,
    product="Keycloak",
    console="the Keycloak admin console",
    steps=(
        Step(
            "In the Keycloak admin console, choose your realm, go to **Clients** and click "
            "**Create client**. Keep **Client type** **OpenID Connect**, enter a **Client "
            "ID** (for example `gatehouse`) and click **Next**."
        ),
        Step(
            "Turn **Client authentication** on, keep **Standard flow** ticked, and click "
            "**Next**. Paste the redirect URI into **Valid redirect URIs** and click "
            "**Save**.",
            values=("redirect_uri",),
        ),
        Step(
            "Gatehouse asks for the scopes below. For groups, on the client's **Client "
            "scopes** tab open its **dedicated** scope and add a **Group Membership** "
            "mapper with **Token Claim Name** `groups` and **Full group path** off.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "On the **Credentials** tab, copy the **Client Secret**. Your issuer is "
            "`https://<your Keycloak host>/realms/<your realm>`."
        ),
    ),
    sources={**_STANDARD, "groups": "a **Group Membership** mapper named `groups`"},
    bring_back=(
        "The issuer (`https://<your Keycloak host>/realms/<your realm>`).",
        "The **Client ID** you chose.",
        "The **Client Secret**.",
    ),
)

GENERIC = Guide(
    strategy="generic-oidc",
    protocol=_OIDC,
    product="your OpenID Connect provider",
    console="your identity provider's admin console",
    steps=(
        Step(
            "In your identity provider, register a new web application (a confidential "
            "client) that uses the **authorization code** flow."
        ),
        Step("Register the redirect URI exactly as shown.", values=("redirect_uri",)),
        Step(
            "Allow the scopes below; they carry the claims Gatehouse reads. Send groups, "
            "if you want to, in a `groups` claim.",
            values=("scopes",),
            attributes=True,
        ),
        Step(
            "Copy the client ID and client secret, and find your issuer: the URL your "
            "provider's `/.well-known/openid-configuration` lives under."
        ),
    ),
    sources={**_STANDARD, "groups": "a `groups` claim, if your provider sends one"},
    bring_back=("The issuer.", "The client ID.", "The client secret."),
)

OIDC_GUIDES = {g.strategy: g for g in (
    OKTA, ENTRA, GOOGLE, ONELOGIN, JUMPCLOUD, PING, KEYCLOAK, GENERIC
)}  # fmt: skip
