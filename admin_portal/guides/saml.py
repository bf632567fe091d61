"""SAML guides, one per product: creating the application in the vendor's own console.

Menu names and field labels are the consoles' own, as their documentation and admins name
them; `**x**` marks a label as the console shows it. Where a console moves things around
between versions, a step says what to look for rather than a path that may be gone.
"""

from __future__ import annotations

from admin_portal.guides.model import Guide, Step

_SAML = "saml"

OKTA = Guide(
    strategy="okta",
    protocol=_SAML,
    product="Okta",
    console="the Okta Admin Console",
    steps=(
        Step(
            "In the Okta Admin Console, go to **Applications > Applications** and click "
            "**Create App Integration**."
        ),
        Step(
            "Choose **SAML 2.0** as the sign-in method and click **Next**. Give the app the "
            "name your people know the application by, and click **Next**."
        ),
        Step(
            "Under **Configure SAML**, paste the ACS URL into **Single sign-on URL** (keep "
            "**Use this for Recipient URL and Destination URL** ticked) and the SP entity ID "
            "into **Audience URI (SP Entity ID)**.",
            values=("acs_url", "sp_entity_id"),
        ),
        Step(
            "Set **Name ID format** to **EmailAddress** and **Application username** to **Email**."
        ),
        Step(
            "Under **Attribute Statements**, add one row per attribute below: the name in "
            "**Name**, **Name format** Unspecified, and the value shown. (If your org has no "
            "such section here, add them after creating the app: on its **Sign On** tab, "
            "**Edit** under **SAML Attributes**.)",
            attributes=True,
        ),
        Step(
            "Click **Next**. Select **I'm an Okta customer adding an internal app**, tick "
            "**This is an internal app that we have created**, and click **Finish**."
        ),
        Step(
            "On the app's **Assignments** tab, assign the people or groups who will sign in "
            "(assign yourself too, for the test login)."
        ),
        Step(
            "On the **Sign On** tab, copy the **Metadata URL** (under **SAML 2.0**): you "
            "give it to Gatehouse on the next page."
        ),
    ),
    sources={
        "email": "user.email",
        "given_name": "user.firstName",
        "family_name": "user.lastName",
        "name": "user.displayName",
        "groups": "a **Group Attribute Statement** with the filter **Matches regex** `.*`",
    },
    bring_back=("The app's **Metadata URL** (Sign On tab).",),
)

ENTRA = Guide(
    strategy="entra",
    protocol=_SAML,
    product="Microsoft Entra ID",
    console="the Microsoft Entra admin center",
    steps=(
        Step(
            "In the Microsoft Entra admin center, open **Enterprise applications** and "
            "click **New application**."
        ),
        Step(
            "Click **Create your own application**, enter its name, choose **Integrate any "
            "other application you don't find in the gallery (Non-gallery)** and click "
            "**Create**."
        ),
        Step(
            "In the new application, open **Single sign-on** (under **Manage**) and choose "
            "**SAML**."
        ),
        Step(
            "In **Basic SAML Configuration**, click **Edit**. Add the SP entity ID under "
            "**Identifier (Entity ID)** and the ACS URL under **Reply URL (Assertion "
            "Consumer Service URL)**, then click **Save**.",
            values=("sp_entity_id", "acs_url"),
        ),
        Step(
            "In **Attributes & Claims**, click **Edit**. Entra sends most of these claims "
            "already; check that each one below is there with the source attribute shown, "
            "and add what is missing with **Add new claim** (the part after the last `/` "
            "is the **Name**, the part before it the **Namespace**).",
            attributes=True,
        ),
        Step(
            "Under **Users and groups**, add the people or groups who will sign in (add "
            "yourself too, for the test login)."
        ),
        Step(
            "Back in **Single sign-on**, in **SAML Certificates**, copy the **App Federation "
            "Metadata Url**: you give it to Gatehouse on the next page."
        ),
    ),
    sources={
        "email": "user.mail",
        "given_name": "user.givenname",
        "family_name": "user.surname",
        "name": "user.displayname",
        "groups": "**Add a group claim** (for example, groups assigned to the application)",
    },
    bring_back=("The **App Federation Metadata Url** (SAML Certificates).",),
)

GOOGLE = Guide(
    strategy="google",
    protocol=_SAML,
    product="Google Workspace",
    console="the Google Admin console",
    steps=(
        Step(
            "In the Google Admin console, go to **Apps > Web and mobile apps**, then click "
            "**Add app > Add custom SAML app**."
        ),
        Step("Enter the **App name** and click **Continue**."),
        Step(
            "On **Google Identity Provider details**, click **Download metadata** and keep "
            "the file: you upload it to Gatehouse on the next page. Click **Continue**."
        ),
        Step(
            "Under **Service provider details**, paste the ACS URL into **ACS URL** and the "
            "SP entity ID into **Entity ID**. Tick **Signed response**. Set **Name ID "
            "format** to **EMAIL** and **Name ID** to **Basic Information > Primary "
            "email**. Click **Continue**.",
            values=("acs_url", "sp_entity_id"),
        ),
        Step(
            "Under **Attribute mapping**, click **Add mapping** once per attribute below: "
            "choose the Google Directory attribute shown, and type the name under **App "
            "attributes**. Click **Finish**.",
            attributes=True,
        ),
        Step(
            "Open the app's **User access**, turn it **ON for everyone** (or for the "
            "organizational units who will sign in) and click **Save**. Google can take a "
            "few minutes to apply it."
        ),
    ),
    sources={
        "email": "Basic Information > Primary email",
        "given_name": "Basic Information > First name",
        "family_name": "Basic Information > Last name",
        "name": "none: Google has no full-name attribute, leave it out",
        "groups": "**Group membership**: the groups to send, with the app attribute shown",
    },
    bring_back=("The IdP metadata file you downloaded.",),
)

ADFS = Guide(
    strategy="adfs",
    protocol=_SAML,
    product="ADFS",
    console="AD FS Management",
    steps=(
        Step(
            "In **AD FS Management**, right-click **Relying Party Trusts** and choose **Add "
            "Relying Party Trust**. Choose **Claims aware** and click **Start**."
        ),
        Step(
            "Choose **Import data about the relying party published online or on a local "
            "network** and paste the SP metadata URL as the federation metadata address "
            "(or download the metadata below and choose **Import data about the relying "
            "party from a file**). Click **Next**.",
            values=("sp_metadata_url",),
        ),
        Step(
            "Enter a **Display name**, choose an access control policy (for example "
            "**Permit everyone**, or a group), and finish the wizard."
        ),
        Step(
            "Right-click the new trust and choose **Edit Claim Issuance Policy**. Click "
            "**Add Rule**, choose **Send LDAP Attributes as Claims**, set **Attribute "
            "store** to **Active Directory**, and map each LDAP attribute below to the "
            "outgoing claim type shown.",
            attributes=True,
        ),
        Step(
            "Add a second rule, **Transform an Incoming Claim**: incoming claim type "
            "**E-Mail Address**, outgoing claim type **Name ID**, outgoing name ID format "
            "**Email**."
        ),
        Step(
            "Gatehouse reads ADFS's own federation metadata, usually at "
            "`https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml`: "
            "you give that URL to Gatehouse on the next page."
        ),
    ),
    sources={
        "email": "LDAP attribute E-Mail-Addresses, outgoing claim type **E-Mail Address**",
        "given_name": "LDAP attribute Given-Name, outgoing claim type **Given Name**",
        "family_name": "LDAP attribute Surname, outgoing claim type **Surname**",
        "name": "LDAP attribute Display-Name, outgoing claim type **Name**",
        "groups": "LDAP attribute Token-Groups - Unqualified Names, outgoing claim type **Group**",
    },
    bring_back=("Your AD FS federation metadata URL.",),
    notes=(
        "The metadata URL gives ADFS Gatehouse's certificates too: ADFS then encrypts "
        "assertions to Gatehouse, which is fine.",
    ),
)

ONELOGIN = Guide(
    strategy="onelogin",
    protocol=_SAML,
    product="OneLogin",
    console="the OneLogin administration",
    steps=(
        Step(
            "In OneLogin's administration, go to **Applications > Applications** and click "
            "**Add App**. Search for **SAML Custom Connector (Advanced)**, select it, enter "
            "a **Display Name** and click **Save**."
        ),
        Step(
            "On the **Configuration** tab, paste the SP entity ID into **Audience "
            "(EntityID)**, the ACS URL into **Recipient** and **ACS (Consumer) URL**, and "
            "the pattern below into **ACS (Consumer) URL Validator**. Set **SAML signature "
            "element** to **Both**, then click **Save**.",
            values=("sp_entity_id", "acs_url", "acs_url_pattern"),
        ),
        Step(
            "On the **Parameters** tab, add one parameter per attribute below: the name as "
            "**Field name**, tick **Include in SAML assertion**, then choose the value "
            "shown.",
            attributes=True,
        ),
        Step(
            "On the **SSO** tab, set **SAML Signature Algorithm** to **SHA-256** and click "
            "**Save**."
        ),
        Step(
            "Give the people who will sign in access to the app, yourself included: add the "
            "app to a role they have (**Users > Roles**), or add it on a user's "
            "**Applications** tab."
        ),
        Step(
            "On the **SSO** tab, copy the **Issuer URL**: it is the app's metadata URL, "
            "which you give to Gatehouse on the next page (or use **More Actions > SAML "
            "Metadata** to download the file)."
        ),
    ),
    sources={
        "email": "Email",
        "given_name": "First Name",
        "family_name": "Last Name",
        "name": "the full name, if your directory keeps one",
        "groups": "User Roles, with **Multi-value parameter** ticked (and the multi-value "
        "output chosen)",
    },
    bring_back=("The **Issuer URL** (SSO tab), or the SAML metadata file.",),
)

JUMPCLOUD = Guide(
    strategy="jumpcloud",
    protocol=_SAML,
    product="JumpCloud",
    console="the JumpCloud Admin Portal",
    steps=(
        Step(
            "In the JumpCloud Admin Portal, go to **User Authentication > SSO Applications** "
            "and click **+ Add New Application**. Select the **Custom Application** tile, "
            "click **Next**, select **Manage Single Sign-On (SSO)** and **Configure SSO with "
            "SAML**, and click **Next**. Enter a **Display Label**, click **Save "
            "Application**, then **Configure Application**."
        ),
        Step(
            "On the **SSO** tab, enter an **IdP Entity ID** of your choice (for example "
            "your company name), paste the SP entity ID into **SP Entity ID** and the ACS "
            "URL into **ACS URLs**.",
            values=("sp_entity_id", "acs_url"),
        ),
        Step(
            "Set **SAMLSubject NameID** to **email**, **SAMLSubject NameID Format** to "
            "`urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress` and **Signature "
            "Algorithm** to **RSA-SHA256**. Under **Sign**, sign the assertion (and the "
            "response, if offered), and tick **Declare Redirect Endpoint**."
        ),
        Step(
            "Under **Attributes**, in **User Attribute Mapping**, add one row per attribute "
            "below: the name as **Service Provider Attribute Name**, and the **JumpCloud "
            "Attribute Name** shown.",
            attributes=True,
        ),
        Step(
            "On the **User Groups** tab, choose the groups who will sign in, then click "
            "**Activate** (or **Save**)."
        ),
        Step(
            "Back on the **SSO** tab, click **Copy Metadata URL** (or **Export Metadata** "
            "for the file): you give it to Gatehouse on the next page."
        ),
    ),
    sources={
        "email": "email",
        "given_name": "firstname",
        "family_name": "lastname",
        "name": "a full-name attribute, if your users have one",
        "groups": "under **Group Attributes**, tick **include group attribute** and name it "
        "as shown",
    },
    bring_back=("The app's metadata URL (**Copy Metadata URL**) or metadata file.",),
)

PING = Guide(
    strategy="ping",
    protocol=_SAML,
    product="PingOne / PingFederate",
    console="the PingOne admin console",
    steps=(
        Step(
            "In the PingOne admin console, go to **Applications > Applications** and click "
            "the **+** icon. Enter the **Application Name**, choose **SAML Application** and "
            "click **Configure**."
        ),
        Step(
            "Under **SAML Configuration**, choose **Manually Enter**: paste the ACS URL "
            "into **ACS URLs** and the SP entity ID into **Entity ID**, then click **Save** "
            "(**Import From URL** with the SP metadata URL works too).",
            values=("acs_url", "sp_entity_id", "sp_metadata_url"),
        ),
        Step(
            "On the **Configuration** tab, click the pencil. Set **Subject NameID Format** to "
            "`urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`, and under **Signing "
            "key** choose to sign the assertion and the response. Click **Save**."
        ),
        Step(
            "On the **Attribute Mappings** tab, click the pencil, then **Add** once per "
            "attribute below: the name under **Attributes**, the **PingOne Mappings** value "
            "shown. Click **Save**.",
            attributes=True,
        ),
        Step(
            "On the **Access** tab, click the pencil and add the groups who will sign in. "
            "Then turn the application on with its toggle (at the top of its details, or "
            "on the **Applications** list)."
        ),
        Step(
            "In the application's details, copy the **IdP Metadata URL** (or click "
            "**Download Metadata**): it is on the **Overview** tab in current consoles, the "
            "**Configuration** tab in older ones. You give it to Gatehouse on the next page."
        ),
    ),
    sources={
        "email": "Email Address",
        "given_name": "Given Name",
        "family_name": "Family Name",
        "name": "the user's full name, if your directory keeps one",
        "groups": "Group Names",
    },
    bring_back=("The application's **IdP Metadata URL** or the metadata file.",),
    notes=(
        "With PingFederate: under **Applications > Integration > SP Connections**, click "
        "**Create Connection**, tick **Browser SSO Profiles** (SAML 2.0), import the SP "
        "metadata URL above on the **Import Metadata** tab, list the attributes below in "
        "the **Attribute Contract**, then export your IdP metadata.",
    ),
)

KEYCLOAK = Guide(
    strategy="keycloak",
    protocol=_SAML,
    product="Keycloak",
    console="the Keycloak admin console",
    steps=(
        Step(
            "In the Keycloak admin console, choose your realm, go to **Clients** and click "
            "**Import client**. Load the SP metadata (download it below, or paste its URL "
            "into a browser and save the file) as the **Resource file**: Keycloak fills "
            "in the **Client ID**, the ACS URL and Gatehouse's signing certificate. Click "
            "**Save**.",
            values=("sp_metadata_url",),
        ),
        Step(
            "In the client's **Settings**, check that **Client ID** is the SP entity ID and "
            "that **Valid redirect URIs** and **Master SAML Processing URL** are the ACS "
            "URL; set **Name ID format** to **email**, and turn on **Sign documents** and "
            "**Sign assertions**.",
            values=("sp_entity_id", "acs_url"),
        ),
        Step(
            "On the client's **Client scopes** tab, open its **dedicated** scope and add "
            "one mapper per attribute below (**Configure a new mapper** or **Add mapper > "
            "By configuration**): a **User Property** mapper with the property shown and "
            "the name as **SAML Attribute Name**.",
            attributes=True,
        ),
        Step(
            "Your realm's IdP metadata is at `https://<your Keycloak host>/realms/<your "
            "realm>/protocol/saml/descriptor`: you give that URL to Gatehouse on the next "
            "page."
        ),
    ),
    sources={
        "email": "User Property email",
        "given_name": "User Property firstName",
        "family_name": "User Property lastName",
        "name": "a **User Attribute** mapper, if your users have a full-name attribute",
        "groups": "a **Group list** mapper (**Full group path** off)",
    },
    bring_back=("The realm's SAML descriptor URL.",),
)

GENERIC = Guide(
    strategy="generic-saml",
    protocol=_SAML,
    product="your SAML identity provider",
    console="your identity provider's admin console",
    steps=(
        Step(
            "In your identity provider, create a new SAML 2.0 application (often called a "
            "service provider, relying party or custom SAML app). If it can read SP "
            "metadata, give it the SP metadata URL (or the downloaded file) and skip to "
            "the attributes.",
            values=("sp_metadata_url",),
        ),
        Step(
            "Otherwise enter the values by hand: the ACS URL (also called reply URL or "
            "single sign-on URL; the binding is HTTP-POST) and the SP entity ID (also "
            "called audience or identifier).",
            values=("acs_url", "sp_entity_id"),
        ),
        Step(
            "Sign the assertion (and, if you can, the response) with RSA-SHA256, and send "
            "the person's email address as the NameID (format emailAddress)."
        ),
        Step(
            "Add one attribute statement per attribute below, under exactly the name shown.",
            attributes=True,
        ),
        Step(
            "Give the people who will sign in access to the application, yourself "
            "included, and find your identity provider's metadata (a URL or a file)."
        ),
    ),
    sources={
        "email": "the person's email address",
        "given_name": "first name",
        "family_name": "last name",
        "name": "full name",
        "groups": "group names, one value per group",
    },
    bring_back=("Your identity provider's SAML metadata: a URL or a file.",),
)

SAML_GUIDES = {g.strategy: g for g in (
    OKTA, ENTRA, GOOGLE, ADFS, ONELOGIN, JUMPCLOUD, PING, KEYCLOAK, GENERIC
)}  # fmt: skip
