"""`modeldesk demo` without MODELDESK_API_KEYS makes one key per role, once, and keeps them private."""

from __future__ import annotations

import stat

from adapters.cli import _demo_keys, _print_keys
from assistant.config import load_settings


def test_demo_keys_are_made_once_per_role_and_kept_private(tmp_path, capsys):
    settings = load_settings(data_dir=tmp_path)
    keys = _demo_keys(settings)
    assert sorted(entry["role"] for entry in keys.values()) == ["admin", "analyst", "business", "security"]
    assert all(len(key) > 20 for key in keys)
    path = tmp_path / "demo" / "api_keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _demo_keys(settings) == keys  # the same keys on the next run

    served = load_settings(data_dir=tmp_path, api_keys=keys)  # they pass the settings' own validation
    _print_keys(served, "127.0.0.1", 8000)
    out = capsys.readouterr().out
    business = next(k for k, v in keys.items() if v["role"] == "business")
    assert f"http://127.0.0.1:8000/#key={business}" in out
