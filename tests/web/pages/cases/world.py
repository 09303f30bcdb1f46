"""Case pages' world: one person per role, signing in through the login form (with its CSRF token),
posting forms as a browser does, and reviews driven by the scenario helpers (fixtures: conftest.py)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.scenarios import cpr

PASSWORD = "a long case-page password"
#: username -> (roles, agency); the lane actors of tests/scenarios/cpr.py are among them.
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "bu.officer": (["business_unit"], None),
    "subgroup.chair": (["review_subgroup"], None),
    "board.chair": (["board_chair", "board_member"], None),
    "board.member": (["board_member"], None),
    "auditor": (["auditor"], None),
    "admin": (["admin"], None),
    "owner": (["process_owner"], None),
    "police": (["agency"], "police"),
    "fire": (["agency"], "fire"),
}


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, *, welsh: bool = False) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text
    if welsh:  # signing in starts a new session, and with it a new token
        token = csrf(client.get("/tasks").text)
        assert client.post("/language", data={"language": "cy", "next": "/", "csrf_token": token}).status_code == 302


def post(client: FlaskClient, url: str, data: dict[str, str], *, page: str | None = None) -> object:
    """A form post as the browser sends it: with the CSRF token of the page it came from."""
    token = csrf(client.get(page or url).text)
    return client.post(url, data={**data, "csrf_token": token})


def started_review(url: str, when: str = "2026-01-05") -> cpr.Review:
    """A review whose referral is recorded (screening open); cpr's helpers move it further."""
    r = cpr.Review.start(url, when)
    r.do("record_referral", cpr.referral(when), when)
    return r
