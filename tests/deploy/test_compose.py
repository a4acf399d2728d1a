"""deploy/compose.yaml: valid against the Compose specification's JSON schema, and the roles hold.

The schema is the compose-spec one that check-jsonschema vendors
(check_jsonschema/builtin_schemas/vendor/compose-spec.json). The file is checked as written
and after variable interpolation with deploy/compose.env.example, as `docker compose` sees it.
"""
from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
APP_SERVICES = {"migrate", "web", "web-hot", "worker-default", "worker-generate", "worker-gpu", "scheduler", "flower"}
_VAR = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?|-|\?)(?P<arg>[^}]*))?\})")


class MissingVariable(Exception):
    pass


def compose_schema() -> dict:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    return json.loads(text)


def validator() -> jsonschema.protocols.Validator:
    schema = compose_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, applied to every string."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        if op in (":?", "?") and not (current if op == ":?" else current is not None):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and not (current if op == ":-" else current is not None):
            return arg
        return current or ""

    return _VAR.sub(sub, value)


def example_env() -> dict[str, str]:
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    return interpolate(raw, example_env())


def seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_the_compose_file_is_valid_as_written_and_interpolated(raw, compose):
    validator().validate(raw)
    validator().validate(compose)


def test_the_schema_rejects_a_misspelled_field(raw):
    broken = copy.deepcopy(raw)
    broken["services"]["scheduler"]["deploy"] = {"replica": 1}
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(broken)


def test_secrets_are_required_from_the_environment(raw):
    env = example_env()
    del env["SECRET_KEY"]
    with pytest.raises(MissingVariable, match="SECRET_KEY"):
        interpolate(raw, env)
    assert "change-me" not in COMPOSE.read_text()  # no secret value in the compose file itself


def test_every_role_is_there_and_app_roles_start_after_migrations(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres", "redis"}
    commands = {name: services[name]["command"][0] for name in APP_SERVICES}
    assert commands == {"migrate": "migrate", "web": "web", "web-hot": "web", "worker-default": "worker",
                        "worker-generate": "worker",
                        "worker-gpu": "worker", "scheduler": "beat", "flower": "flower"}
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES - {"migrate", "flower"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in ("postgres", "redis", "web", "web-hot"):
        assert "healthcheck" in services[name]


def test_exactly_one_scheduler(compose):
    scheduler = compose["services"]["scheduler"]
    assert scheduler["deploy"]["replicas"] == 1
    beats = [n for n, s in compose["services"].items() if s.get("command", [""])[0] == "beat"]
    assert beats == ["scheduler"]


def test_the_gpu_and_generate_workers_reserve_a_gpu_and_read_a_local_base_model(compose):
    services = compose["services"]
    for name in ("worker-gpu", "worker-generate"):
        (device,) = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"] and device["count"] == 1
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile.gpu"
        cache = services[name]["environment"]["BASE_MODEL_CACHE_DIR"]
        assert f"model-cache:{cache}" in services[name]["volumes"] and "data:/data" in services[name]["volumes"]
    assert "model-cache" in compose["volumes"]
    assert services["worker-gpu"]["environment"]["CELERY_CONCURRENCY"] == "1"
    generate = services["worker-generate"]["environment"]
    assert generate["CELERY_POOL"] == "threads" and int(generate["CELERY_CONCURRENCY"]) > 1
    assert generate["GENERATE_DTYPE"] == "auto" and generate["GENERATE_DEVICE"] == "auto"
    for name, service in services.items():
        if name not in ("worker-gpu", "worker-generate"):
            assert "resources" not in service.get("deploy", {}), name


def test_assign_and_events_have_their_own_threaded_web_pool(compose):
    services = compose["services"]
    for name in ("web", "web-hot"):
        env = services[name]["environment"]
        assert env["WEB_WORKER_CLASS"] == "gthread" and int(env["WEB_THREADS"]) > 1, name
    assert services["web-hot"]["ports"] != services["web"]["ports"]


def test_workers_consume_the_celery_queues_and_stop_gracefully(compose):
    from prefcontent.celery import app
    from prefcontent.generation.conf import generation_settings

    services = compose["services"]
    queues = {name: services[name]["environment"]["CELERY_QUEUES"] for name in services if name.startswith("worker-")}
    assert sorted(queues.values()) == sorted(q.name for q in app.conf.task_queues)
    limits = {"default": settings.CELERY_TASK_TIME_LIMIT, "generate": generation_settings().task_time_limit_s,
              "gpu": 6 * 3600}
    for name, queue in queues.items():
        assert seconds(services[name]["stop_grace_period"]) > limits[queue], name
    visibility = int(services["web"]["environment"]["CELERY_VISIBILITY_TIMEOUT"])
    assert visibility > max(limits.values())


def test_app_roles_share_one_broker_database_and_models_volume(compose):
    services = compose["services"]
    brokers = {services[n]["environment"]["CELERY_BROKER_URL"] for n in APP_SERVICES}
    databases = {services[n]["environment"]["DATABASE_URL"] for n in APP_SERVICES}
    assert len(brokers) == 1 and brokers.pop().startswith("redis://")
    assert len(databases) == 1
    for name in APP_SERVICES:
        assert "data:/data" in services[name]["volumes"], name
        assert services[name]["environment"]["MODELS_STORE_URL"].startswith("/data/")
    assert "data" in compose["volumes"]
    assert compose["services"]["flower"]["environment"]["FLOWER_BASIC_AUTH"]


def test_every_variable_given_to_the_app_is_read_by_it(compose):
    """A misspelt variable would be ignored silently."""
    from tests.deploy.test_kubernetes import code_text, read_by_code

    text = code_text()
    names = {name for service in APP_SERVICES for name in compose["services"][service]["environment"]}
    unread = {name for name in names if not read_by_code(name, text)}
    assert unread == {"FLOWER_BASIC_AUTH"}  # read by Flower itself (FLOWER_* options)


def test_app_roles_share_a_cache_and_trust_one_proxy_hop(compose):
    """Rate limits and login lockouts need one cache for every web process; the reverse proxy in front adds
    one X-Forwarded-For entry, the only one to trust."""
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["CACHE_URL"].startswith("redis://") and env["CACHE_URL"].endswith("@redis:6379/1"), name
        assert env["NUM_PROXIES"] == "1", name
        assert env["CACHE_URL"].rsplit("/", 1)[0] == env["CELERY_BROKER_URL"].rsplit("/", 1)[0]  # same Redis
