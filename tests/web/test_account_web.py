"""Issue 11 §2 through the real workspace: an administrator asks, another person
approves, the new person enrols with link + code, and logs in with a second factor. No
page ever shows a password."""

from __future__ import annotations

import re

import pyotp
import pytest
from workspace_env import PASSWORD, TOTP_SECRETS, Env, csrf_from, login

from pnrguard.audit.models import Operation
from pnrguard.service.accounts import Role

pytestmark = pytest.mark.storage

_LINK = re.compile(r'id="enrol-link">https?://[^/]+(/enrol/[A-Za-z0-9_-]+)<')
_CODE = re.compile(r"Enrolment code for the person \(shown once\): ([0-9A-F]{8})")
_APPROVE = re.compile(r'action="(/admin/approvals/[0-9a-f]{32}/approve)"')
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_SEALED = re.compile(r'name="sealed" value="([^"]+)"')


def test_an_administrator_needs_a_second_person_and_sees_no_password(env: Env) -> None:
    with env.client(Role.ADMIN) as admin:
        page = admin.get("/admin/accounts")
        r = admin.post(
            "/admin/accounts",
            data={"username": "newsup", "role": "supervisor", "csrf_token": csrf_from(page.text)},
        )
        assert r.status_code == 200
        notices = " ".join(re.findall(r'<p class="notice"[^>]*>(.*?)</p>', r.text, re.S)).lower()
        assert "waits for a second person" in notices
        assert "password" not in notices  # the old page printed "Its password, shown only now: …"
        link = _LINK.search(r.text)
        assert link, "the requester gets the enrolment link"
        approvals = admin.get("/admin/approvals")
        assert "needs another person" in approvals.text
        action = re.search(r"/admin/approvals/([0-9a-f]{32})", approvals.text)
        assert action is None  # no approve button for the requester
    change_id = env.audit(operation=Operation.ALTERATION)[-1].record_ids[1]
    with env.client(Role.ADMIN) as admin:  # forging the request does not help
        token = csrf_from(admin.get("/admin/approvals").text)
        own = admin.post(f"/admin/approvals/{change_id}/approve", data={"csrf_token": token})
        assert own.status_code == 403
    with env.client(Role.DPO) as dpo:
        page = dpo.get("/admin/approvals")
        approve = _APPROVE.search(page.text)
        assert approve
        done = dpo.post(approve.group(1), data={"csrf_token": csrf_from(page.text)})
        code = _CODE.search(done.text)
        assert code, "the approver gets the enrolment code"
    with env.client() as person:
        first = person.get(link.group(1))
        step2 = person.post(link.group(1), data={"code": code.group(1), "csrf_token": csrf_from(first.text)})
        secret, sealed = _SECRET.search(step2.text), _SEALED.search(step2.text)
        assert secret
        assert sealed
        data = {
            "code": code.group(1), "csrf_token": csrf_from(step2.text), "password": PASSWORD,
            "password2": PASSWORD, "sealed": sealed.group(1), "totp_code": pyotp.TOTP(secret.group(1)).now(),
        }  # fmt: skip
        enrolled = person.post(link.group(1), data=data)
        assert enrolled.status_code == 303
        again = person.get(link.group(1))
        used = person.post(link.group(1), data={"code": code.group(1), "csrf_token": csrf_from(again.text)})
        assert used.status_code == 403  # used up
    TOTP_SECRETS[(env.base.rstrip("/"), "newsup")] = secret.group(1)
    with env.client() as c:
        # The password alone opens no page: the stage session is refused everywhere.
        page = c.get("/login")
        r = c.post(
            "/login", data={"username": "newsup", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        assert r.headers["location"].startswith("/login/totp")
        assert c.get("/hits").status_code == 401
    with env.client() as c:
        r = login(c, "newsup", PASSWORD)
        assert r.status_code == 303
        assert r.headers["location"] == "/"  # a supervisor lands on what waits (issue 15)
