"""SCIM provisioning guides, one per product: where the IT admin turns provisioning on in
their IdP's own console, pastes Gatehouse's base URL and token, and what the console calls
the screens a diagnosis sends them back to.

Menu names and field labels are the consoles' own (`**x**` as the console shows them), as
these pages name them:

- Okta: "Add SCIM provisioning to app integrations",
  https://help.okta.com/oie/en-us/Content/Topics/Apps/Apps_App_Integration_Wizard_SCIM.htm
  (General > App Settings > Provisioning: SCIM; Provisioning > Integration: SCIM connector
  base URL, Unique identifier field for users, Supported provisioning actions,
  Authentication Mode HTTP Header; To App: Create Users, Update User Attributes,
  Deactivate Users), and https://scim.dev/guide/applications/okta.html.
- Microsoft Entra ID: "Tutorial: Develop and plan provisioning for a SCIM endpoint",
  https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
  (Provisioning, Provisioning Mode Automatic, Admin Credentials: Tenant URL, Secret Token,
  Test Connection; Mappings; Provisioning Status On), and the provisioning quickstart at
  https://learn-etelej-com.pages.dev/entra-application-provisioning/quickstart/configure-provisioning.
- OneLogin: the "SCIM Provisioner with SAML (SCIM v2 Enterprise)" app as
  https://scim.dev/guide/applications/onelogin and
  https://doc.keepnetlabs.com/next-generation-product/platform/company/company-settings/scim-settings/onelogin-scim-integration
  describe it (Configuration tab: SCIM Base URL, SCIM Bearer Token, SCIM JSON Template,
  API Connection Enable; Provisioning tab: Enable provisioning).
- JumpCloud: https://boxyhq.com/docs/directory-sync/providers/jumpcloud and
  https://help.kisi.io/marketplace/identity_management/scim/jumpcloud (a custom SAML
  application's Identity Management tab: SCIM Version 2.0, Base URL, Token Key, Test User
  Email, Test Connection, Activate; User Groups tab).
- Generic SCIM 2.0: RFC 7644 (§3.3 POST, §3.5.2 PATCH, §3.12 errors) and RFC 6750 §2.1
  (the `Authorization: Bearer` header).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Gatehouse's values an admin pastes, by key (`Step.values`).
SCIM_VALUES = ("scim_base_url", "scim_token")


@dataclass(frozen=True, slots=True)
class ScimStep:
    text: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimGuide:
    """`credentials`, `url_field`, `bearer_field`, `test_button`, `mappings`: the screens a
    diagnosis names, in the console's words."""

    vendor: str
    product: str
    console: str
    steps: tuple[ScimStep, ...]
    credentials: str
    url_field: str
    bearer_field: str
    test_button: str
    mappings: str
    #: How long the IdP may take to send its first request after it is switched on.
    first_sync: str


OKTA = ScimGuide(
    vendor="okta",
    product="Okta",
    console="the Okta Admin Console",
    steps=(
        ScimStep(
            "In the Okta Admin Console, open the SAML app integration your people sign in "
            "with (**Applications > Applications**). On its **General** tab, under **App "
            "Settings**, click **Edit**, set **Provisioning** to **SCIM** and click **Save**."
        ),
        ScimStep(
            "On the **Provisioning** tab, under **Settings > Integration**, click **Edit**. "
            "Paste the base URL into **SCIM connector base URL**, and enter `userName` as "
            "**Unique identifier field for users**.",
            values=("scim_base_url",),
        ),
        ScimStep(
            "Under **Supported provisioning actions**, tick **Push New Users**, **Push "
            "Profile Updates** and **Push Groups**. Set **Authentication Mode** to **HTTP "
            "Header** and paste the token as the **Bearer** value of **Authorization**.",
            values=("scim_token",),
        ),
        ScimStep("Click **Test Connector Configuration**, close it, and click **Save**."),
        ScimStep(
            "Under **Settings > To App**, click **Edit**, enable **Create Users**, **Update "
            "User Attributes** and **Deactivate Users**, and click **Save**."
        ),
        ScimStep(
            "On the **Assignments** tab, assign the people or groups to provision; to send "
            "groups, add them on the **Push Groups** tab."
        ),
    ),
    credentials="the app's **Provisioning** tab, **Settings > Integration**",
    url_field="**SCIM connector base URL**",
    bearer_field="**Authorization** (HTTP Header)",
    test_button="**Test Connector Configuration**",
    mappings="the **Provisioning** tab, **To App**, **Attribute Mappings**",
    first_sync="Okta sends its first requests when you test the connector and assign people",
)

ENTRA = ScimGuide(
    vendor="entra",
    product="Microsoft Entra ID",
    console="the Microsoft Entra admin center",
    steps=(
        ScimStep(
            "In the Microsoft Entra admin center, open **Enterprise applications** and the "
            "application your people sign in with (or click **New application**, **Create "
            "your own application**, and choose **Integrate any other application you don't "
            "find in the gallery (Non-gallery)**)."
        ),
        ScimStep(
            "Open **Provisioning** (under **Manage**), click **Get started** if it is "
            "offered, and set **Provisioning Mode** to **Automatic**."
        ),
        ScimStep(
            "Under **Admin Credentials**, paste the base URL into **Tenant URL** and the "
            "token into **Secret Token**.",
            values=("scim_base_url", "scim_token"),
        ),
        ScimStep("Click **Test Connection**, then **Save**."),
        ScimStep(
            "Under **Mappings**, open **Provision Microsoft Entra ID Users**: keep the "
            'mappings to `userName`, `emails[type eq "work"].value`, `name.givenName`, '
            "`name.familyName`, `displayName`, `externalId` and `active`, and remove those "
            "to attributes you added yourself."
        ),
        ScimStep(
            "Under **Users and groups**, assign who is provisioned. Back in **Provisioning**, "
            "set **Provisioning Status** to **On** and click **Save**."
        ),
    ),
    credentials="**Provisioning > Admin Credentials**",
    url_field="**Tenant URL**",
    bearer_field="**Secret Token**",
    test_button="**Test Connection**",
    mappings="**Provisioning > Mappings > Provision Microsoft Entra ID Users**",
    first_sync="Entra's first cycle starts within minutes of **Provisioning Status** "
    "going **On**, and later ones run about every 40 minutes",
)

ONELOGIN = ScimGuide(
    vendor="onelogin",
    product="OneLogin",
    console="the OneLogin admin portal",
    steps=(
        ScimStep(
            "In the OneLogin admin portal, go to **Applications > Applications**, click "
            "**Add App**, search for **SCIM Provisioner with SAML (SCIM v2 Enterprise)**, "
            "give it a name and click **Save**."
        ),
        ScimStep(
            "On its **Configuration** tab, paste the base URL into **SCIM Base URL** and the "
            "token into **SCIM Bearer Token**.",
            values=("scim_base_url", "scim_token"),
        ),
        ScimStep(
            "Keep the **SCIM JSON Template** OneLogin fills in: it sends `userName`, `name`, "
            "`emails` and the enterprise extension, which Gatehouse reads."
        ),
        ScimStep("Under **API Connection**, click **Enable**, then **Save**."),
        ScimStep(
            "On the **Provisioning** tab, tick **Enable provisioning**, untick the **Require "
            "admin approval before this action** boxes for create, delete and update, and "
            "click **Save**."
        ),
        ScimStep("Give the app to the people to provision (**Users** or **Roles**)."),
    ),
    credentials="the app's **Configuration** tab",
    url_field="**SCIM Base URL**",
    bearer_field="**SCIM Bearer Token**",
    test_button="**API Connection: Enable**",
    mappings="the **Configuration** tab's **SCIM JSON Template** and the **Parameters** tab",
    first_sync="OneLogin sends its first request when you enable the API connection",
)

JUMPCLOUD = ScimGuide(
    vendor="jumpcloud",
    product="JumpCloud",
    console="the JumpCloud Admin Portal",
    steps=(
        ScimStep(
            "In the JumpCloud Admin Portal, go to **SSO Applications** and open the custom "
            "SAML application your people sign in with."
        ),
        ScimStep(
            "On its **Identity Management** tab, choose **SCIM 2.0** as the **SCIM Version**. "
            "Paste the base URL into **Base URL** and the token into **Token Key**, and "
            "enter your own address as **Test User Email**.",
            values=("scim_base_url", "scim_token"),
        ),
        ScimStep(
            "To send groups, tick **Enable management of User Groups and Group Membership "
            "in this application**."
        ),
        ScimStep("Click **Test Connection**, then **Activate**, then **Save**."),
        ScimStep(
            "On the **User Groups** tab, select the groups whose members are provisioned "
            "and click **Save**."
        ),
    ),
    credentials="the application's **Identity Management** tab",
    url_field="**Base URL**",
    bearer_field="**Token Key**",
    test_button="**Test Connection**",
    mappings="the application's **Identity Management** tab (attribute mapping)",
    first_sync="JumpCloud sends its first requests when you test the connection",
)

GENERIC = ScimGuide(
    vendor="generic",
    product="your identity provider",
    console="your identity provider's admin console",
    steps=(
        ScimStep(
            "In your identity provider, open the application your people sign in with and "
            'find its SCIM 2.0 provisioning (outbound, or "push") settings.'
        ),
        ScimStep(
            "Enter the base URL as the SCIM endpoint. Choose bearer token authentication "
            "and paste the token: it is sent as `Authorization: Bearer <token>`.",
            values=("scim_base_url", "scim_token"),
        ),
        ScimStep(
            "Send users with `userName`, `emails` (one marked primary), `name`, "
            "`externalId` and `active`, and groups with `displayName` and `members`."
        ),
        ScimStep(
            "Deactivate people with `active: false` (or delete them). Assign who is "
            "provisioned and start provisioning."
        ),
    ),
    credentials="the provisioning settings",
    url_field="the SCIM base URL",
    bearer_field="the bearer token",
    test_button="its connection test",
    mappings="its attribute mappings",
    first_sync="most identity providers send a first request when provisioning starts",
)

SCIM_GUIDES = {g.vendor: g for g in (OKTA, ENTRA, ONELOGIN, JUMPCLOUD, GENERIC)}


def scim_guide(vendor: str | None, directory_name: str = "") -> ScimGuide:
    """The guide asked for (a `vendor` query or form value), else the one whose product
    the directory is named after (the portal names it so), else the generic one."""
    if vendor in SCIM_GUIDES:
        return SCIM_GUIDES[vendor]
    for guide in SCIM_GUIDES.values():
        if guide.product == directory_name:
            return guide
    return GENERIC
