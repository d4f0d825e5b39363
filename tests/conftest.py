"""Fixtures shared by the test files (pytest finds them here)."""

import pytest

import eigennet


@pytest.fixture
def float64():
    """Models made in the test compute in float64 (finite differences need the precision)."""
    eigennet.config.set_floatx("float64")
    yield
    eigennet.config.set_floatx("float32")
