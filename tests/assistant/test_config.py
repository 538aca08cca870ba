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


def test_llm_settings_fail_loudly_and_keep_the_key_secret():
    import pytest as _pytest

    from assistant.config import load_settings as _load
    from assistant.errors import ConfigError as _ConfigError

    with _pytest.raises(_ConfigError, match="MODELDESK_LLM_BASE_URL: .*ending in /v1"):
        _load(llm_base_url="http://127.0.0.1:8088", llm_model="m")
    with _pytest.raises(_ConfigError, match="MODELDESK_LLM_MODEL must be set"):
        _load(llm_base_url="http://127.0.0.1:8088/v1")
    with _pytest.raises(_ConfigError, match="MODELDESK_LLM_TIMEOUT"):
        _load(llm_timeout=0)
    settings = _load(llm_base_url="https://llm.example.com/v1/", llm_model="m", llm_api_key="sk-very-secret")
    assert settings.llm_base_url == "https://llm.example.com/v1" and settings.llm_timeout == 20
    assert "sk-very-secret" not in repr(settings) and settings.llm_api_key.get_secret_value() == "sk-very-secret"
