"""Sign-in rate limits: per address and per email, refused with 429 and Retry-After, and
let back in once the window has moved on (on an injected clock)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of

from onestory.web.ratelimit import SignInLimiter, SlidingWindowLimiter

PASSWORD = "correct horse battery staple"
WINDOW = 15 * 60


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_sliding_window_counts_only_the_last_window(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(limit=3, window=60, clock=clock)
    for step in range(3):
        assert limiter.retry_after("k") is None
        limiter.record("k")
        clock.now += 10 * (step + 1)  # hits at 1000, 1010, 1030
    assert clock.now == 1060
    assert limiter.retry_after("k") is None  # the hit at 1000 has just left the window
    limiter.record("k")
    assert limiter.retry_after("k") == pytest.approx(10)  # the hit at 1010 leaves at 1070
    assert limiter.retry_after("other") is None
    limiter.forget_one("k")
    assert limiter.retry_after("k") is None


def test_sign_in_limiter_refuses_without_counting(clock: FakeClock) -> None:
    limiter = SignInLimiter(clock=clock, per_address=2, per_email=5)
    assert limiter.attempt("10.0.0.1", "a@example.org") is None
    assert limiter.attempt("10.0.0.1", "b@example.org") is None
    assert limiter.attempt("10.0.0.1", "c@example.org") == WINDOW
    clock.now += 60
    assert limiter.attempt("10.0.0.1", "c@example.org") == WINDOW - 60
    assert limiter.attempt("10.0.0.2", "c@example.org") is None
    limiter.succeeded("10.0.0.2", "C@example.org ")
    assert limiter.by_email.retry_after("c@example.org") is None
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindowLimiter(limit=0, window=1)


def _sign_in(client: PageCheckingClient, email: str, password: str = "guess"):
    token = csrf_token_from(client.get("/sign-in"))
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def _assert_too_many(response, wait_seconds: int, minutes: int) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(wait_seconds)
    summary = soup_of(response).select_one(".govuk-error-summary").get_text(" ", strip=True)
    unit = "minute" if minutes == 1 else "minutes"
    assert f"Too many attempts. Wait {minutes} {unit} and try again" in summary


def test_sign_in_is_limited_per_address(
    app: FastAPI, client: PageCheckingClient, clock: FakeClock
) -> None:
    app.state.sign_in_limiter = SignInLimiter(clock=clock)
    for n in range(10):
        assert _sign_in(client, f"person{n}@example.org").status_code == 400

    _assert_too_many(_sign_in(client, "someone.else@example.org"), WINDOW, 15)
    clock.now += WINDOW - 30
    _assert_too_many(_sign_in(client, "someone.else@example.org"), 30, 1)

    clock.now += 30
    assert _sign_in(client, "someone.else@example.org").status_code == 400


def test_sign_in_is_limited_per_email(
    app: FastAPI, client: PageCheckingClient, clock: FakeClock, add_account
) -> None:
    app.state.sign_in_limiter = SignInLimiter(clock=clock, per_address=100)
    for _ in range(10):
        assert _sign_in(client, "nobody@example.org").status_code == 400
    _assert_too_many(_sign_in(client, "Nobody@Example.org"), WINDOW, 15)
    # Another email from the same address is not held up.
    assert _sign_in(client, "somebody@example.org").status_code == 400

    clock.now += WINDOW
    assert _sign_in(client, "nobody@example.org").status_code == 400


def test_successful_sign_ins_do_not_use_up_the_limit(
    app: FastAPI, client: PageCheckingClient, clock: FakeClock, add_account
) -> None:
    add_account()
    app.state.sign_in_limiter = SignInLimiter(clock=clock, per_address=3, per_email=3)
    for _ in range(5):
        response = _sign_in(client, "sam.taylor@example.org", PASSWORD)
        assert response.status_code == 200
        assert response.url.path == "/"


def test_the_limiter_is_made_on_first_use(app: FastAPI, client: PageCheckingClient) -> None:
    assert getattr(app.state, "sign_in_limiter", None) is None
    _sign_in(client, "nobody@example.org")
    limiter = app.state.sign_in_limiter
    assert isinstance(limiter, SignInLimiter)
    assert limiter.by_address.limit == 10
    _sign_in(client, "nobody@example.org")
    assert app.state.sign_in_limiter is limiter
