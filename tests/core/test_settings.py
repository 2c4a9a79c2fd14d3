import pytest

from smartpark.core.errors import ConfigError
from smartpark.core.settings import CommonSettings, load_settings, read_secret


def test_defaults_need_no_file(monkeypatch):
    for var in ("SMARTPARK_STORE", "SMARTPARK_BROKER", "SMARTPARK_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(CommonSettings)
    assert s.store_url.kind == "sqlite"
    assert s.broker_url.port == 1883
    assert s.metrics_host == "127.0.0.1"


def test_precedence_options_over_env_over_file(tmp_path, monkeypatch):
    config = tmp_path / "smartpark.toml"
    config.write_text(
        'registry = "reg.toml"\nbroker = "mqtt://file-host"\nstore = "sqlite:///file.db"\n'
        'log_level = "debug"\n'
    )
    monkeypatch.setenv("SMARTPARK_BROKER", "mqtt://env-host:1884")
    monkeypatch.setenv("SMARTPARK_STORE", "influxdb://env-host/db")
    s = load_settings(CommonSettings, config, store="sqlite:///option.db", broker=None)
    assert s.store_url.path == "option.db"  # option wins
    assert s.broker_url.host == "env-host"  # env beats file
    assert s.log_level == "debug"  # file beats default
    assert s.registry == tmp_path / "reg.toml"  # relative to the config file


def test_every_invalid_setting_is_listed(tmp_path, monkeypatch):
    monkeypatch.delenv("SMARTPARK_BROKER", raising=False)
    config = tmp_path / "bad.toml"
    config.write_text('brokr = "x"\nlog_level = "loud"\nmetrics_port = 70000\n')
    with pytest.raises(ConfigError) as err:
        load_settings(CommonSettings, config, broker="mqtt://u:hunter2@h")
    problems = err.value.problems
    assert any(p.startswith("brokr: unknown setting") for p in problems)
    assert any(p.startswith("log_level:") for p in problems)
    assert any(p.startswith("metrics_port:") for p in problems)
    assert any(p.startswith("broker: broker URL must not carry a password") for p in problems)
    assert len(problems) == 4
    assert "hunter2" not in str(err.value)


def test_broken_config_file(tmp_path):
    config = tmp_path / "broken.toml"
    config.write_text("store = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(CommonSettings, config)


def test_secrets_from_env_or_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SMARTPARK_MQTT_PASSWORD", raising=False)
    monkeypatch.delenv("SMARTPARK_MQTT_PASSWORD_FILE", raising=False)
    assert read_secret("mqtt_password") is None
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD_FILE", str(secret))
    assert read_secret("mqtt_password") == "s3cret"
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD", "from-env")
    assert read_secret("mqtt_password") == "from-env"
    monkeypatch.delenv("SMARTPARK_MQTT_PASSWORD")
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot read secret file"):
        read_secret("mqtt_password")


def test_a_bad_value_from_the_environment_names_its_variable(monkeypatch):
    monkeypatch.setenv("SMARTPARK_METRICS_PORT", "99999")
    monkeypatch.setenv("SMARTPARK_BROKER", "http://x")
    with pytest.raises(ConfigError) as err:
        load_settings(CommonSettings, log_level="loud")
    problems = err.value.problems
    assert any(
        p.startswith("metrics_port:") and p.endswith("(from SMARTPARK_METRICS_PORT)")
        for p in problems
    ), problems
    assert any(p.startswith("broker: broker URL must start with") for p in problems)
    assert any(p.endswith("(from SMARTPARK_BROKER)") for p in problems)
    (level,) = [p for p in problems if p.startswith("log_level:")]
    assert "SMARTPARK_" not in level  # given as an option, not from the environment
