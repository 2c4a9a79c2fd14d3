"""AnswerCache: reuse while the store's token holds, expiry by time where it cannot
tell, a bound on entries, and one build for many concurrent requests."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from smartpark.serve.cache import AnswerCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Builds:
    """A build function that counts its calls and answers ``name#n``."""

    def __init__(self) -> None:
        self.count = 0

    def of(self, name: str) -> Callable[[], str]:
        def build() -> str:
            self.count += 1
            return f"{name}#{self.count}"

        return build


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> AnswerCache[str]:
    return AnswerCache(max_entries=3, ttl_s=5.0, clock=clock)


def test_answer_is_reused_while_the_version_holds(cache: AnswerCache[str], clock: Clock) -> None:
    builds = Builds()
    assert cache.get("park", 7, builds.of("park")) == "park#1"
    clock.now += 3600  # no time limit while the store can tell
    assert cache.get("park", 7, builds.of("park")) == "park#1"
    assert (builds.count, cache.hits, cache.misses) == (1, 1, 1)


def test_a_new_version_rebuilds(cache: AnswerCache[str]) -> None:
    builds = Builds()
    cache.get("park", 7, builds.of("park"))
    assert cache.get("park", 8, builds.of("park")) == "park#2"
    assert cache.get("park", 8, builds.of("park")) == "park#2"
    assert cache.get("park", 7, builds.of("park")) == "park#3"  # equality, not order


def test_keys_are_kept_apart(cache: AnswerCache[str]) -> None:
    builds = Builds()
    assert cache.get(("park", "a"), 1, builds.of("a")) == "a#1"
    assert cache.get(("park", "b"), 1, builds.of("b")) == "b#2"
    assert cache.get(("park", "a"), 1, builds.of("a")) == "a#1"


def test_without_a_version_answers_expire_after_the_ttl(
    cache: AnswerCache[str], clock: Clock
) -> None:
    builds = Builds()
    cache.get("park", None, builds.of("park"))
    clock.now += 4.9
    assert cache.get("park", None, builds.of("park")) == "park#1"
    clock.now += 0.1
    assert cache.get("park", None, builds.of("park")) == "park#2"


def test_an_answer_built_with_a_version_is_not_served_without_one(
    cache: AnswerCache[str],
) -> None:
    builds = Builds()
    cache.get("park", 7, builds.of("park"))
    assert cache.get("park", None, builds.of("park")) == "park#2"
    assert cache.get("park", 7, builds.of("park")) == "park#3"


def test_max_age_bounds_clock_dependent_answers_even_while_the_version_holds(
    cache: AnswerCache[str], clock: Clock
) -> None:
    builds = Builds()
    cache.get("fresh", 7, builds.of("fresh"), max_age_s=30)
    clock.now += 29.9
    assert cache.get("fresh", 7, builds.of("fresh"), max_age_s=30) == "fresh#1"
    clock.now += 0.1
    assert cache.get("fresh", 7, builds.of("fresh"), max_age_s=30) == "fresh#2"


def test_age_counts_from_when_the_build_began(cache: AnswerCache[str], clock: Clock) -> None:
    builds = Builds()

    def slow() -> str:
        clock.now += 3  # the data was read at the start of these 3 s
        return builds.of("slow")()

    cache.get("slow", None, slow)
    clock.now += 2  # 5 s after the build began
    assert cache.get("slow", None, builds.of("slow")) == "slow#2"


def test_least_recently_used_answer_goes_past_the_bound(cache: AnswerCache[str]) -> None:
    builds = Builds()
    for key in "abc":
        cache.get(key, 1, builds.of(key))
    cache.get("a", 1, builds.of("a"))  # a is now the most recently used
    cache.get("d", 1, builds.of("d"))  # b goes
    assert len(cache) == 3
    assert cache.get("a", 1, builds.of("a")) == "a#1"
    assert cache.get("c", 1, builds.of("c")) == "c#3"
    assert cache.get("b", 1, builds.of("b")) == "b#5"


def test_a_failed_build_keeps_nothing_and_raises(cache: AnswerCache[str]) -> None:
    def fail() -> str:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        cache.get("park", 7, fail)
    assert len(cache) == 0
    assert cache.get("park", 7, Builds().of("park")) == "park#1"


def test_concurrent_requests_for_a_missing_answer_build_it_once(
    cache: AnswerCache[str],
) -> None:
    n = 16
    started, release = threading.Event(), threading.Event()
    builds = Builds()

    def build() -> str:
        started.set()
        assert release.wait(10), "the test never released the build"
        return builds.of("park")()

    answers: list[str] = []

    def request() -> None:
        answers.append(cache.get("park", 7, build))

    first = threading.Thread(target=request)
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=request) for _ in range(n - 1)]
    for t in others:
        t.start()
    while cache.hits < n - 1:  # every other request is waiting on the one build
        threading.Event().wait(0.001)
    release.set()
    for t in [first, *others]:
        t.join(10)
    assert answers == ["park#1"] * n
    assert (builds.count, cache.misses, cache.hits) == (1, 1, n - 1)


def test_waiters_get_the_builders_exception(cache: AnswerCache[str]) -> None:
    started, release = threading.Event(), threading.Event()

    def fail() -> str:
        started.set()
        assert release.wait(10)
        raise RuntimeError("store down")

    errors: list[BaseException] = []

    def request() -> None:
        try:
            cache.get("park", 7, fail)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(4)]
    threads[0].start()
    assert started.wait(10)
    for t in threads[1:]:
        t.start()
    while cache.hits < 3:
        threading.Event().wait(0.001)
    release.set()
    for t in threads:
        t.join(10)
    assert [str(e) for e in errors] == ["store down"] * 4
    assert cache.get("park", 7, Builds().of("park")) == "park#1"  # the next one builds


def test_a_request_at_another_version_does_not_join_a_build_under_way(
    cache: AnswerCache[str], clock: Clock
) -> None:
    started, release = threading.Event(), threading.Event()

    def old() -> str:
        started.set()
        assert release.wait(10)
        return "old"

    answers: list[str] = []
    t = threading.Thread(target=lambda: answers.append(cache.get("park", 7, old)))
    t.start()
    assert started.wait(10)
    clock.now += 1
    assert cache.get("park", 8, lambda: "new") == "new"
    release.set()
    t.join(10)
    assert answers == ["old"]
    # The build begun earlier finished last but does not replace the newer answer.
    assert cache.get("park", 8, lambda: "rebuilt") == "new"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        AnswerCache(max_entries=0)
    with pytest.raises(ValueError, match="ttl_s"):
        AnswerCache(ttl_s=-1)


def test_min_age_keeps_an_answer_through_store_changes_for_that_long(clock: Clock) -> None:
    cache: AnswerCache[str] = AnswerCache(min_age_s=5.0, clock=clock)
    builds = Builds()
    assert cache.get("park", 1, builds.of("park")) == "park#1"
    clock.now += 4.9
    assert cache.get("park", 2, builds.of("park")) == "park#1"  # written, but too soon
    assert cache.get("park", 2, builds.of("park"), max_age_s=4.0) == "park#2"  # max age wins
    clock.now += 5.0
    assert cache.get("park", 3, builds.of("park")) == "park#3"


def test_peek_answers_only_what_get_would_reuse_and_never_builds(clock: Clock) -> None:
    cache: AnswerCache[str] = AnswerCache(clock=clock)
    builds = Builds()
    assert cache.peek("park", 1) is None  # nothing kept: no build either
    cache.get("park", 1, builds.of("park"))
    assert cache.peek("park", 1) == "park#1"
    assert cache.peek("park", 2) is None  # the store changed
    clock.now += 31
    assert cache.peek("park", 1, max_age_s=30) is None
    assert (builds.count, cache.hits) == (1, 1)
