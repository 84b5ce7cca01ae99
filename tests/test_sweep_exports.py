"""playbill.sweeps' public surface: curated, documented, nothing private."""

from __future__ import annotations

import inspect

import playbill.sweeps as sweeps


def test_all_lists_only_public_names_that_exist() -> None:
    assert len(sweeps.__all__) == len(set(sweeps.__all__))
    for name in sweeps.__all__:
        assert not name.startswith("_") and hasattr(sweeps, name), name


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(sweeps).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public <= set(sweeps.__all__)


def test_every_public_class_and_function_has_a_docstring() -> None:
    assert (sweeps.__doc__ or "").strip()
    for name in sweeps.__all__:
        obj = getattr(sweeps, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert (inspect.getdoc(obj) or "").strip(), name
            for method_name, method in vars(obj).items():
                if not method_name.startswith("_") and inspect.isfunction(method):
                    assert (inspect.getdoc(method) or "").strip(), f"{name}.{method_name}"


def test_the_package_builds_on_actors_and_plans_only() -> None:
    source = "\n".join(
        inspect.getsource(module)
        for module in (sweeps._runner, sweeps._cells, sweeps._setup)  # type: ignore[attr-defined]
    )
    assert "playbill.cli" not in source
