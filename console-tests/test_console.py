"""The admin center in Debian's chromium: sign in, add a user through the whole wizard (an admin
role, which needs an alternate email, and a license; a reload of Results creates nothing), see
the seat taken, find the user, edit it (optional details, sign-in blocked and unblocked, a second
admin role added and the first removed), see a synchronized user read-only, check that a form
without its CSRF token is refused, delete and restore the user, bulk-edit licenses (add,
replace, keep), page through a group's members, create, rename, fill, empty and delete a group,
create a token with a lifetime and a rate limit (its secret works; a reload shows it no more)
and revoke it (it stops working), find the revocation in the audit log, dry-run and then import
the repository's examples/users.csv through the file input and download its report, see a page
in Dutch, sign out. Every control is found by its label or role, as automation would.

run.sh starts scimd and passes its address and tokens in the environment.
"""

import csv
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["SCIMD_URL"]
ADMIN_TOKEN = os.environ["SCIMD_ADMIN_TOKEN"]
SYNC_TOKEN = os.environ["SCIMD_SYNC_TOKEN"]
CHROMIUM = os.environ.get("SCIMD_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("SCIMD_SCREENSHOTS", "screenshots")
EXAMPLE_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "users.csv")


def scim(method, path, token, body=None):
    """A SCIM request, as an identity provider would send it; returns the parsed answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + "/scim/v2" + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/scim+json")
    with urllib.request.urlopen(req, timeout=10) as res:
        text = res.read()
        return json.loads(text) if text else None


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def step(page, name):
    print("-", name, flush=True)


def main():
    synced = scim(
        "POST",
        "/Users",
        SYNC_TOKEN,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ad.user@contoso.com",
            "displayName": "From the directory",
        },
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(15_000)

        step(page, "an unauthenticated page leads to sign-in")
        page.goto(BASE + "/admin/users")
        expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        shot(page, "01-sign-in")
        page.get_by_label("Admin token").fill(ADMIN_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Active users")).to_be_visible()
        expect(page.get_by_role("cell", name="ad.user@contoso.com", exact=True)).to_be_visible()
        expect(page.get_by_text("Synchronized", exact=True)).to_be_visible()
        shot(page, "02-active-users")

        step(page, "the wizard: details, settings, location, licenses, results mail")
        page.get_by_role("link", name="Add user").click()
        page.get_by_label("First name").fill("Ann")
        page.get_by_label("Last name").fill("Lee")
        page.get_by_label("Display name").fill("Ann Lee")
        page.get_by_label("User name").fill("ann")
        page.get_by_label("Domain").select_option("contoso.com")
        shot(page, "03-wizard-details")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Admin role").select_option("Global administrator")
        shot(page, "04-wizard-settings")
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Usage location").select_option("NL")
        page.get_by_role("button", name="Next").click()
        licenses = page.get_by_role("group", name="Licenses")
        expect(licenses).to_contain_text("2 of 2 available")
        licenses.get_by_label(re.compile("Office 365 E3")).check()
        shot(page, "05-wizard-licenses")
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_label("Email results to")).to_be_visible()
        page.get_by_role("button", name="Create").click()

        step(page, "an admin role without an alternate email comes back beside that field")
        email = page.get_by_label("Alternate email address")
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_role("alert")).to_contain_text("alternateEmails")
        expect(page.get_by_label("Admin role")).to_have_value("Global administrator")
        shot(page, "06-wizard-refused")
        email.fill("ann@home.example")
        for _ in range(3):
            page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("heading", name="Results")).to_be_visible()
        expect(page.get_by_text("ann@contoso.com")).to_be_visible()
        expect(page.get_by_test_id("temporary-password")).to_have_text(re.compile(r"^\S{20}$"))
        shot(page, "07-wizard-results")
        page.reload()
        expect(page.get_by_role("heading", name="Add user")).to_be_visible()
        found = scim("GET", '/Users?filter=userName%20eq%20%22ann@contoso.com%22', ADMIN_TOKEN)
        assert found["totalResults"] == 1, found

        step(page, "the seat is taken")
        page.get_by_role("link", name="Licenses").click()
        expect(page.get_by_role("row", name=re.compile("Office 365 E3"))).to_contain_text("ENTERPRISEPACK211")
        shot(page, "08-licenses")

        step(page, "the user is in the list, found by search")
        page.get_by_role("link", name="Active users").click()
        page.get_by_label("Search users").fill("ann")
        page.get_by_role("button", name="Search").click()
        row = page.get_by_role("row", name=re.compile("ann@contoso.com"))
        expect(row).to_contain_text("Office 365 E3")
        expect(page.get_by_role("cell", name="ad.user@contoso.com", exact=True)).to_have_count(0)

        step(page, "edit")
        row.get_by_role("link", name="Ann Lee").click()
        page.get_by_label("Display name").fill("Ann Lee-Smith")
        page.get_by_label("Job title").fill("Sales Lead")
        page.get_by_label("Department").fill("Sales")
        page.get_by_label("Mobile phone").fill("+31 6 1234 5678")
        page.get_by_label("City").fill("Utrecht")
        page.get_by_label("Country or region").fill("Netherlands")
        page.get_by_label("Block sign-in").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved ann@contoso.com")
        expect(page.get_by_label("Display name")).to_have_value("Ann Lee-Smith")
        expect(page.get_by_label("Job title")).to_have_value("Sales Lead")
        expect(page.get_by_label("Block sign-in")).to_be_checked()
        shot(page, "09-edit-user")
        ann_url = page.url
        user = scim("GET", "/Users/" + ann_url.rsplit("/", 1)[1], ADMIN_TOKEN)
        assert user["active"] is False and user["title"] == "Sales Lead", user
        assert user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "Sales", user
        assert user["phoneNumbers"] == [{"type": "mobile", "value": "+31 6 1234 5678"}], user
        assert user["addresses"] == [{"type": "work", "locality": "Utrecht", "country": "Netherlands"}], user
        page.get_by_label("Block sign-in").uncheck()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved ann@contoso.com")
        assert scim("GET", "/Users/" + ann_url.rsplit("/", 1)[1], ADMIN_TOKEN)["active"] is True

        step(page, "edit: every admin role held is shown, and each is added or removed")

        def roles():
            user = scim("GET", "/Users/" + ann_url.rsplit("/", 1)[1], ADMIN_TOKEN)
            ext = user["urn:scimd:schemas:extension:directory:2.0:User"]
            return sorted(r["value"] for r in ext.get("adminRoles", []))

        admin_roles = page.get_by_role("group", name="Admin roles")
        expect(admin_roles.get_by_label("Global administrator", exact=True)).to_be_checked()
        admin_roles.get_by_label("Billing administrator", exact=True).check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved ann@contoso.com")
        assert roles() == ["Billing administrator", "Global administrator"], roles()
        shot(page, "09a-edit-admin-roles")
        page.get_by_label("Display name").fill("Ann Lee-Smith")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved ann@contoso.com")
        assert roles() == ["Billing administrator", "Global administrator"], "a save keeps both: %s" % roles()
        page.get_by_role("group", name="Admin roles").get_by_label("Global administrator", exact=True).uncheck()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("Saved ann@contoso.com")
        assert roles() == ["Billing administrator"], roles()

        step(page, "a form without its CSRF token is refused")
        page.locator("form[action$='/delete'] input[name=csrf]").evaluate("e => e.remove()")
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        shot(page, "10-csrf-refused")
        page.goto(ann_url)
        expect(page.get_by_label("Display name")).to_have_value("Ann Lee-Smith")

        step(page, "a synchronized user is read-only")
        page.goto(BASE + "/admin/users/" + synced["id"])
        expect(page.get_by_role("note")).to_contain_text("synchronized from the on-premises directory")
        expect(page.get_by_label("Display name")).to_be_disabled()
        expect(page.get_by_label("Block sign-in")).to_be_disabled()
        expect(page.get_by_label("Job title")).to_be_disabled()
        expect(page.get_by_role("button", name="Save")).to_have_count(0)
        shot(page, "11-synchronized-user")

        step(page, "delete and restore")
        page.goto(ann_url)
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("status")).to_contain_text("Deleted ann@contoso.com")
        expect(page.get_by_role("row", name=re.compile("ann@contoso.com"))).to_have_count(0)
        page.get_by_role("link", name="Deleted users").click()
        shot(page, "12-deleted-users")
        page.get_by_role("button", name="Restore ann@contoso.com").click()
        expect(page.get_by_role("status")).to_contain_text("Restored ann@contoso.com")
        page.get_by_role("link", name="Active users").click()
        expect(page.get_by_role("row", name=re.compile("ann@contoso.com"))).to_be_visible()
        user = scim("GET", "/Users/" + ann_url.rsplit("/", 1)[1], ADMIN_TOKEN)
        assert user["displayName"] == "Ann Lee-Smith", user

        step(page, "bulk edit: add to, replace and keep the selected users' licenses")
        ann_id = ann_url.rsplit("/", 1)[1]

        def bulk(button, location="Keep current", users=("ann@contoso.com",)):
            page.get_by_role("link", name="Active users").click()
            for name in users:
                page.get_by_label("Select " + name).check()
            page.get_by_role("button", name="Edit selected users").click()
            page.get_by_label("Usage location").select_option(label=location)
            page.get_by_role("button", name="Next").click()
            if button != "Keep current licenses":
                page.get_by_role("group", name="Licenses").get_by_label(re.compile("Office 365 E1")).check()
            page.get_by_role("button", name=button).click()
            expect(page.get_by_role("heading", name="Bulk edit results")).to_be_visible()

        def licenses_of(user_id):
            user = scim("GET", "/Users/" + user_id, ADMIN_TOKEN)
            ext = user["urn:scimd:schemas:extension:directory:2.0:User"]
            return ext.get("usageLocation"), sorted(l["value"] for l in ext.get("licenses", []))

        _, before = licenses_of(ann_id)
        bulk("Add to current licenses", users=("ann@contoso.com", "ad.user@contoso.com"))
        expect(page.get_by_role("status")).to_contain_text("1 changed, 1 refused")
        expect(page.get_by_role("row", name=re.compile("ad.user@contoso.com"))).to_contain_text("on-premises directory")
        shot(page, "13-bulk-results")
        _, added = licenses_of(ann_id)
        assert len(added) == 2 and set(before) < set(added), (before, added)
        bulk("Replace current licenses")
        _, replaced = licenses_of(ann_id)
        assert len(replaced) == 1 and replaced[0] not in before, (before, replaced)
        bulk("Keep current licenses", location="DE")
        assert licenses_of(ann_id) == ("DE", replaced), licenses_of(ann_id)

        step(page, "groups: search, and a group's members a page at a time")
        members = [{"value": ann_id}, {"value": synced["id"]}]
        for i in range(55):
            user = scim(
                "POST",
                "/Users",
                ADMIN_TOKEN,
                {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"member{i}@contoso.com"},
            )
            members.append({"value": user["id"]})
        scim(
            "POST",
            "/Groups",
            ADMIN_TOKEN,
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "members": members},
        )
        scim("POST", "/Groups", ADMIN_TOKEN, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Support"})
        page.get_by_role("link", name="Groups").click()
        expect(page.get_by_role("heading", name="Groups")).to_be_visible()
        page.get_by_label("Search groups").fill("sal")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("link", name="Support")).to_have_count(0)
        shot(page, "14-groups")
        page.get_by_role("link", name="Sales").click()
        expect(page.get_by_role("heading", name="Sales")).to_be_visible()
        expect(page.get_by_text("Members 1–50 of 57")).to_be_visible()
        shot(page, "15-group-members")
        page.get_by_role("link", name="Next page").click()
        expect(page.get_by_text("Members 51–57 of 57")).to_be_visible()
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)

        step(page, "groups: create, rename, add a member by user name, remove it, delete")
        page.get_by_role("link", name="Groups").click()
        page.get_by_label("Group name").fill("Marketing")
        page.get_by_role("button", name="Create group").click()
        expect(page.get_by_role("heading", name="Marketing")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("Created the group Marketing")
        group_id = page.url.rsplit("/", 1)[1]
        page.get_by_label("Group name").fill("Marketing EMEA")
        page.get_by_role("button", name="Rename").click()
        expect(page.get_by_role("heading", name="Marketing EMEA")).to_be_visible()
        page.get_by_label("User name to add").fill("nobody@contoso.com")
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_label("User name to add")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_role("alert")).to_contain_text("no user has the user name nobody@contoso.com")
        shot(page, "15a-group-member-refused")
        page.get_by_label("User name to add").fill("ann@contoso.com")
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_role("status")).to_contain_text("Added ann@contoso.com to the group")
        expect(page.get_by_text("1 member.")).to_be_visible()
        shot(page, "15b-group-edit")
        group = scim("GET", "/Groups/" + group_id, ADMIN_TOKEN)
        assert group["displayName"] == "Marketing EMEA" and [m["value"] for m in group["members"]] == [ann_id], group
        page.get_by_role("button", name=re.compile("^Remove .* from the group$")).click()
        expect(page.get_by_text("0 members.")).to_be_visible()
        assert not scim("GET", "/Groups/" + group_id, ADMIN_TOKEN).get("members"), group_id
        page.get_by_role("button", name="Delete group").click()
        expect(page.get_by_role("status")).to_contain_text("Deleted the group Marketing EMEA")
        expect(page.get_by_role("link", name="Marketing EMEA")).to_have_count(0)
        try:
            scim("GET", "/Groups/" + group_id, ADMIN_TOKEN)
            raise AssertionError("the group is still there")
        except urllib.error.HTTPError as e:
            assert e.code == 404, e.code

        step(page, "tokens: create one, its secret shown once works; revoke it and it stops")
        page.get_by_role("link", name="Tokens").click()
        page.get_by_label("Token name").fill("okta-provisioning")
        page.get_by_label(re.compile("^read:")).check()
        page.get_by_label(re.compile("^write:")).check()
        page.get_by_label("Lifetime").fill("90d")
        page.get_by_label("Rate limit").fill("50")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("heading", name="Token created")).to_be_visible()
        expect(page.get_by_text("50 per second")).to_be_visible()
        expect(page.get_by_text("it will not be shown again")).to_be_visible()
        secret = page.get_by_label("Secret").input_value()
        shot(page, "16-token-created")
        assert scim("GET", "/Users?count=1", secret)["totalResults"] > 0
        page.reload()
        expect(page.get_by_role("heading", name="Tokens")).to_be_visible()
        expect(page.get_by_text(secret)).to_have_count(0)
        expect(page.get_by_role("row", name=re.compile("okta-provisioning"))).to_contain_text("50 per second")
        tokens = scim("GET", "/Admin/Tokens", ADMIN_TOKEN)["Resources"]
        okta = next(t for t in tokens if t["name"] == "okta-provisioning")
        assert okta["rateLimit"] == 50 and okta["expires"], okta
        page.get_by_role("link", name="Revoke okta-provisioning").click()
        shot(page, "17-token-revoke")
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("status")).to_contain_text("Revoked the token okta-provisioning")
        expect(page.get_by_role("row", name=re.compile("okta-provisioning"))).to_contain_text("revoked")
        shot(page, "18-tokens")
        refused = None
        for _ in range(20):  # a verified token is trusted for a couple of seconds
            try:
                scim("GET", "/Users?count=1", secret)
            except urllib.error.HTTPError as e:
                refused = e.code
                break
            time.sleep(0.5)
        assert refused == 401, refused

        step(page, "audit log: the revocation, found by its operation")
        page.get_by_role("link", name="Audit log").click()
        page.get_by_label("Operation").select_option("revoke")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("1 event, newest first.")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("revoke"))).to_contain_text("Token")
        shot(page, "19-audit-log")

        step(page, "import: the repository's examples/users.csv through the file input, its results and report")
        with open(EXAMPLE_CSV, encoding="utf-8", newline="") as f:
            example_users = [row["User Name"] for row in csv.DictReader(f)]
        page.get_by_role("link", name="Import").click()
        page.get_by_label("CSV file").set_input_files(EXAMPLE_CSV)
        page.get_by_label("Dry run").check()
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("heading", name="Dry run results")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("created")).to_have_text(str(len(example_users)))
        expect(page.get_by_role("status")).to_contain_text("nothing was created or changed")
        shot(page, "20a-import-dry-run")
        for name in example_users:
            found = scim("GET", f'/Users?filter=userName%20eq%20%22{name}%22', ADMIN_TOKEN)
            assert found["totalResults"] == 0, (name, found)
        page.get_by_role("link", name="Import another file").click()
        page.get_by_label("CSV file").set_input_files(EXAMPLE_CSV)
        page.get_by_label("Give new users a temporary password").check()
        shot(page, "20-import")
        page.get_by_role("button", name="Import").click()
        # Each temporary password is hashed with argon2, which takes a while in a debug build.
        expect(page.get_by_role("heading", name="Import results")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Imported users.csv.")).to_be_visible()
        expect(page.get_by_test_id("created")).to_have_text(str(len(example_users)))
        expect(page.get_by_test_id("refused")).to_have_text("0")
        shot(page, "21-import-results")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the report (CSV)").click()
        with open(download.value.path(), encoding="utf-8", newline="") as f:
            report = list(csv.reader(f))
        assert report[0] == ["row", "userName", "status", "id", "detail", "temporaryPassword"], report
        assert [line[1] for line in report[1:]] == example_users, report
        assert all(line[2] == "created" and line[5] for line in report[1:]), report
        for name in example_users:
            found = scim("GET", f'/Users?filter=userName%20eq%20%22{name}%22', ADMIN_TOKEN)
            assert found["totalResults"] == 1, (name, found)

        step(page, "the header's switch shows a page in Dutch, and back in English")
        page.get_by_role("link", name="Nederlands").click()
        expect(page.get_by_role("heading", name="Gebruikers importeren")).to_be_visible()
        page.get_by_role("link", name="Actieve gebruikers").click()
        expect(page.get_by_role("heading", name="Actieve gebruikers")).to_be_visible()
        expect(page.get_by_label("Gebruikers zoeken")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        shot(page, "22-active-users-dutch")
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Active users")).to_be_visible()

        step(page, "sign out")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.goto(BASE + "/admin/users")
        expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
        browser.close()
    print("admin center: every step passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - the test's verdict, with what failed
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
