"""Settings: one class per component, every problem reported at once, secrets masked where printed,
and a child process given the exact same settings through the environment."""

from __future__ import annotations

import pytest

from omnimeter.errors import ConfigError
from omnimeter.settings import Settings, load_settings, mask_url


def test_every_problem_of_every_component_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIMETER_BATCH_MAX_EVENTS", "0")
    monkeypatch.setenv("OMNIMETER_FAUST_MAX_POLL_RECORDS", "-1")
    with pytest.raises(ConfigError) as e:
        load_settings(kafka__bootstrap="no-port", clickhouse__url="ftp://x")
    text = str(e.value)
    for where in ("ingest.batch_max_events", "faust.max_poll_records", "kafka.bootstrap", "clickhouse.url"):
        assert where in text, text


def test_secrets_and_url_passwords_are_masked() -> None:
    s = load_settings(api__secret="hunter2", clickhouse__url="https://default:pw123@ch.example:8443/?x=1")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.masked())
    assert s.masked()["clickhouse"]["url"] == "https://default:***@ch.example:8443/?x=1"
    assert mask_url("chdb:///tmp/x") == "chdb:///tmp/x"
    with pytest.raises(ConfigError) as e:
        load_settings(clickhouse__url="tcp://u:secretpw@h:9000")
    assert "secretpw" not in str(e.value)


def test_a_child_gets_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(kafka__bootstrap="10.0.0.1:9092", api__secret="k").replace(
        ingest__flush_interval_s=0.25, faust__event_loop="uvloop", worker__web_port=0
    )
    for name, value in s.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    same = s.replace(clickhouse__url=s.resolved_clickhouse_url, data_dir=s.data_dir.resolve())
    assert again.model_dump() == same.model_dump()
    assert again.api.secret.get_secret_value() == "k"


def test_replace_refuses_unknown_components() -> None:
    with pytest.raises(ConfigError):
        Settings().replace(kafak__bootstrap="x:1")
