import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"


def smartpark(*args):
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_commands():
    result = smartpark("--help")
    assert result.returncode == 0
    assert "registry" in result.stdout


def test_registry_check_ok():
    result = smartpark("registry", "check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "registry OK" in result.stdout
    assert "petrochem" in result.stdout
    assert "11 enterprise(s)" in result.stdout


def test_registry_check_lists_errors_and_exits_1(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[zone.z]\nname = "Z"\n[meter.m]\nenterprise = "e"\nquantity = "gass"\n')
    result = smartpark("registry", "check", str(bad))
    assert result.returncode == 1
    assert "meter.m.quantity: unknown quantity 'gass'" in result.stderr
    assert "meter.m.enterprise: unknown enterprise 'e'" in result.stderr
    assert "meter.m.gateway: missing required key" in result.stderr


def test_registry_check_takes_the_common_registry_option_too():
    result = smartpark("registry", "check", "--registry", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "91 meter(s) (1 read by hand)" in result.stdout


def test_usage_error_exits_2():
    assert smartpark("registry", "check").returncode == 2
    assert smartpark("no-such-command").returncode == 2


def test_bench_lists_the_benchmarks_and_refuses_unknown_ones():
    listed = smartpark("bench")
    assert listed.returncode == 0
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {"ingest", "kpi", "gateway", "store"} <= names
    unknown = smartpark("bench", "no-such-bench")
    assert unknown.returncode == 2
    assert "unknown benchmark" in unknown.stderr


def test_every_design_command_has_help():
    for command in ("demo", "gateway", "ingest", "kpi", "alerts", "bench", "landuse"):
        result = smartpark(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
    for group, command in (("registry", "check"), ("grafana", "push")):
        assert smartpark(group, command, "--help").returncode == 0
