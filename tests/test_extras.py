"""A missing optional dependency is one line naming the extra that brings it."""

from __future__ import annotations

import pytest

from playbill._extras import MissingExtraError, available, require
from playbill.runtime import PlaybillError


def test_require_imports_an_installed_module() -> None:
    assert require("json", "core", "tests").dumps([1]) == "[1]"


def test_require_names_the_extra_when_the_module_is_missing() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require("playbill_no_such_module.sub", "sweeps", "plots")
    error = caught.value
    assert isinstance(error, PlaybillError)
    assert (error.module, error.extra) == ("playbill_no_such_module", "sweeps")
    assert str(error) == (
        "plots need playbill_no_such_module, which is not installed: pip install 'playbill[sweeps]'"
    )
    assert "\n" not in str(error)


def test_available_does_not_import() -> None:
    assert available("json")
    assert not available("playbill_no_such_module")
    assert not available("playbill_no_such_module.sub")
