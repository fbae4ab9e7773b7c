import pytest

from data_fixtures import CLASS_NAMES


@pytest.fixture
def class_names() -> list[str]:
    return list(CLASS_NAMES)
