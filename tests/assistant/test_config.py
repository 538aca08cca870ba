import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError


def test_bad_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("MODELDESK_API_KEYS", '{"k1": {"principal": "alice", "role": "wizard"}}')
    with pytest.raises(ConfigError, match="MODELDESK_API_KEYS.*wizard"):
        load_settings()
    monkeypatch.setenv("MODELDESK_API_KEYS", "{not json")
    with pytest.raises(ConfigError, match="MODELDESK_API_KEYS"):
        load_settings()
    monkeypatch.delenv("MODELDESK_API_KEYS")
    monkeypatch.setenv("MODELDESK_CHROMA_URL", "localhost")
    with pytest.raises(ConfigError, match="MODELDESK_CHROMA_URL"):
        load_settings()


def test_paths_split_like_path(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELDESK_MODELS_PATH", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.models_dirs == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.delenv("MODELDESK_MODELS_PATH")
    assert load_settings().models_dirs == [tmp_path / "data" / "demo" / "models"]
