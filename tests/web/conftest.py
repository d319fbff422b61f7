"""The pages keep import progress and the self-query's rate limit in the cache, a folder shared
by every test of a run: each test starts with it empty."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
