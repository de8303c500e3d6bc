"""Each module that treats the reserved property types differently keeps one table keyed by the
type, checked against spec's list of types when the module is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from mockserver import fastpath, openapi, reference, spec, validation
from pytest_plugin.strategies import defects, valid

#: Every table keyed by the property type, by the name its check gives it.
TABLES: dict[str, Mapping[Any, object]] = {
    "spec.OBJECT_KEYS": spec.OBJECT_KEYS,
    "validation._BY_PROPERTY_TYPE": validation._BY_PROPERTY_TYPE,
    "fastpath._BY_PROPERTY_TYPE": fastpath._BY_PROPERTY_TYPE,
    "openapi._BY_PROPERTY_TYPE": openapi._BY_PROPERTY_TYPE,
    "reference._PROPERTY_TYPES": reference._PROPERTY_TYPES,
    "strategies.valid._BY_PROPERTY_TYPE": valid._BY_PROPERTY_TYPE,
    "strategies.defects._WRONG_BY_KIND": defects._WRONG_BY_KIND,
    "strategies.defects._KIND_WORDS": defects._KIND_WORDS,
}

#: The modules holding those tables, each with the first table its import checks.
MODULES = {
    "mockserver.validation": "validation._BY_PROPERTY_TYPE",
    "mockserver.fastpath": "fastpath._BY_PROPERTY_TYPE",
    "mockserver.openapi": "openapi._BY_PROPERTY_TYPE",
    "mockserver.reference": "reference._PROPERTY_TYPES",
    "pytest_plugin.strategies.valid": "strategies.valid._BY_PROPERTY_TYPE",
    "pytest_plugin.strategies.defects": "strategies.defects._WRONG_BY_KIND",
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_covers_every_type(name: str) -> None:
    assert list(TABLES[name]) == list(spec.PROPERTY_TYPE_NAMES)
    spec.check_table(TABLES[name], name)


def test_a_table_missing_a_type_or_with_an_unknown_one_is_refused() -> None:
    whole = dict.fromkeys(spec.PROPERTY_TYPE_NAMES, 1)
    spec.check_table(whole, "whole")
    without = {kind: 1 for kind in spec.PROPERTY_TYPE_NAMES if kind != "coupons"}
    with pytest.raises(ValueError, match=r"^t\.WITHOUT must .*: missing \['coupons'\], unknown none$"):
        spec.check_table(without, "t.WITHOUT")
    with pytest.raises(ValueError, match=r"^t\.EXTRA must .*: missing none, unknown \['money'\]$"):
        spec.check_table({**whole, "money": 1}, "t.EXTRA")


def test_a_new_type_fails_the_import_of_every_module_that_switches_on_it() -> None:
    # Each module is imported as it is, then its code runs again once spec lists a type that
    # no table has: every one of them must refuse to load, naming its table.
    code = "\n".join(
        [
            "import importlib, json, sys",
            "names = sys.argv[1:]",
            "modules = [importlib.import_module(name) for name in names]",
            "from mockserver import spec",
            "spec.PROPERTY_TYPE_NAMES = (*spec.PROPERTY_TYPE_NAMES, 'money')",
            "failures = {}",
            "for name, module in zip(names, modules):",
            "    try:",
            "        importlib.reload(module)",
            "    except ValueError as error:",
            "        failures[name] = str(error)",
            "print(json.dumps(failures))",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code, *MODULES], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    failures = json.loads(done.stdout)
    assert sorted(failures) == sorted(MODULES)
    for module, table in MODULES.items():
        assert failures[module].startswith(f"{table} must"), failures[module]
        assert failures[module].endswith("missing ['money'], unknown none"), failures[module]
