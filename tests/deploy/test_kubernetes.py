"""deploy/k8s: the production overlay renders, every object passes its schema, and the roles hold.

The overlay is rendered by tests/deploy/kustomize.py (CI has no kustomize binary); where
kubectl is installed, a test checks that `kubectl kustomize` renders exactly the same objects.

Built-in kinds are checked with kubernetes-validate (the Kubernetes 1.37 OpenAPI schemas,
strict: unknown fields fail). KEDA kinds are checked against tests/deploy/schemas/, written
from the KEDA CRD specification. Then the properties that make the deployment safe.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from tests.deploy.kustomize import KustomizeError, build, containers, pod_spec

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.37"
KEDA_SCHEMAS = {
    "ScaledObject": "keda-scaledobject.schema.json",
    "TriggerAuthentication": "keda-triggerauthentication.schema.json",
}
APP_WORKLOADS = {"web", "web-hot", "worker-default", "worker-generate", "worker-gpu", "scheduler", "flower",
                 "prefcontent-migrate"}
MODEL_CACHE = "/var/cache/prefcontent-models"


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return build(K8S / "overlays" / "production")


def find(resources: list[dict], kind: str, name: str) -> dict:
    (match,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return match


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def main_container(res: dict) -> dict:
    return pod_spec(res)["containers"][0]


def config(rendered) -> dict[str, str]:
    return find(rendered, "ConfigMap", "prefcontent-config")["data"]


def test_every_rendered_object_passes_its_schema(rendered):
    kinds = set()
    for res in rendered:
        kinds.add(res["kind"])
        if res["kind"] in KEDA_SCHEMAS:
            schema = json.loads((SCHEMAS / KEDA_SCHEMAS[res["kind"]]).read_text())
            jsonschema.Draft202012Validator(schema).validate(res)
        else:
            kubernetes_validate.validate(res, K8S_VERSION, strict=True)
    assert {"Deployment", "StatefulSet", "Job", "Service", "ConfigMap", "PersistentVolumeClaim",
            "ScaledObject", "TriggerAuthentication", "Namespace", "Ingress", "PodDisruptionBudget"} <= kinds


def test_the_validators_reject_a_broken_manifest(rendered):
    """Guards the guard: a typo'd field or a bad value must fail, or the test above proves nothing."""
    web = json.loads(json.dumps(find(rendered, "Deployment", "web")))
    main_container(web)["readinessProbes"] = main_container(web).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, K8S_VERSION, strict=True)
    scaled = json.loads(json.dumps(find(rendered, "ScaledObject", "worker-gpu")))
    scaled["spec"]["triggers"][0]["metadata"].pop("listName")
    schema = json.loads((SCHEMAS / KEDA_SCHEMAS["ScaledObject"]).read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(scaled)


def test_the_overlay_sets_namespace_images_and_replicas(rendered):
    for res in rendered:
        if res["kind"] != "Namespace":
            assert res["metadata"]["namespace"] == "prefcontent", res["metadata"]["name"]
        assert res["metadata"]["labels"]["app.kubernetes.io/part-of"] == "prefcontent"
        for container in containers(res):
            if res["metadata"]["name"] in APP_WORKLOADS:
                assert re.fullmatch(r"registry\.example\.com/prefcontent(-gpu)?:1\.0\.0", container["image"])
    assert find(rendered, "Deployment", "web")["spec"]["replicas"] == 3
    assert find(rendered, "PersistentVolumeClaim", "prefcontent-data")["spec"]["storageClassName"] == "shared-rwx"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl here: the loader's rendering is not cross-checked")
def test_the_loader_renders_exactly_what_kubectl_kustomize_renders(rendered):
    out = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / "production")],
                         capture_output=True, text=True, timeout=120, check=True)
    real = [doc for doc in yaml.safe_load_all(out.stdout) if doc]

    def by_key(resources):
        return {(r["kind"], r["metadata"]["name"]): r for r in resources}

    assert by_key(real) == by_key(rendered)


def test_the_loader_refuses_what_it_cannot_render(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nconfigMapGenerator: []\n")
    with pytest.raises(KustomizeError, match="configMapGenerator"):
        build(tmp_path)


def test_app_pods_take_settings_from_the_configmap_and_secrets_from_the_secret(rendered):
    for name in APP_WORKLOADS:
        kind = "Job" if name == "prefcontent-migrate" else "Deployment"
        res = find(rendered, kind, name)
        for container in containers(res):
            if container["name"] == "own-model-cache":  # root, but it only chowns the node-local cache
                assert container["command"][-1] == f"chown 10001:10001 {MODEL_CACHE}" and "envFrom" not in container
                continue
            refs = {(next(iter(ref)), ref[next(iter(ref))]["name"]) for ref in container["envFrom"]}
            assert refs == {("configMapRef", "prefcontent-config"), ("secretRef", "prefcontent-secrets")}, name
            # No secret value is written into a manifest.
            for var in container.get("env", []):
                assert not re.search(r"PASSWORD|SECRET|TOKEN", var["name"]) or "valueFrom" in var


def test_web_has_health_probes_and_allowed_hosts_for_them(rendered):
    web = main_container(find(rendered, "Deployment", "web"))
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # Probes and Prometheus reach the pod by IP: Django must accept that host.
    env = env_of(web)
    assert "$(POD_IP)" in env["ALLOWED_HOSTS"] and "$(PUBLIC_HOSTNAME)" in env["ALLOWED_HOSTS"]
    names = [e["name"] for e in web["env"]]
    assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")  # $(VAR) only sees variables defined earlier
    assert "PUBLIC_HOSTNAME" in config(rendered) and config(rendered)["SECURE_SSL_REDIRECT"] == "false"


def test_exactly_one_scheduler_that_is_never_doubled_during_a_rollout(rendered):
    scheduler = find(rendered, "Deployment", "scheduler")
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
    assert main_container(scheduler)["args"] == ["beat"]
    assert not [r for r in rendered if r["kind"] == "ScaledObject" and r["spec"]["scaleTargetRef"]["name"] == "scheduler"]


def test_gpu_workers_run_on_gpu_nodes_one_task_at_a_time(rendered):
    gpu = find(rendered, "Deployment", "worker-gpu")
    spec = pod_spec(gpu)
    worker = main_container(gpu)
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert env_of(worker)["CELERY_QUEUES"] == "gpu" and env_of(worker)["CELERY_CONCURRENCY"] == "1"
    assert worker["image"].split(":")[0].endswith("prefcontent-gpu")
    for name in ("web", "web-hot", "worker-default", "scheduler"):
        assert "nvidia.com/gpu" not in main_container(find(rendered, "Deployment", name))["resources"]["limits"]


def test_generate_workers_run_on_gpu_nodes_with_one_engine_fed_by_many_threads(rendered):
    generate = find(rendered, "Deployment", "worker-generate")
    spec, worker = pod_spec(generate), main_container(generate)
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert worker["image"].split(":")[0].endswith("prefcontent-gpu")
    env = env_of(worker)
    assert env["CELERY_QUEUES"] == "generate" and env["CELERY_POOL"] == "threads"
    assert int(env["CELERY_CONCURRENCY"]) > 1  # jobs of several brands in the one engine at once
    assert env["GENERATE_DEVICE"] == "auto" and env["GENERATE_DTYPE"] == "auto"  # bfloat16 on the GPU
    assert "--max-tasks-per-child=1" not in worker["args"]  # the engine lives as long as the pod


def test_generate_and_gpu_workers_read_the_base_model_from_a_node_local_cache(rendered):
    for name in ("worker-generate", "worker-gpu"):
        res = find(rendered, "Deployment", name)
        spec, worker = pod_spec(res), main_container(res)
        assert env_of(worker)["BASE_MODEL_CACHE_DIR"] == MODEL_CACHE
        (volume,) = [v for v in spec["volumes"] if v["name"] == "model-cache"]
        assert volume["hostPath"] == {"path": MODEL_CACHE, "type": "DirectoryOrCreate"}  # outlives the pod
        assert {"name": "model-cache", "mountPath": MODEL_CACHE} in worker["volumeMounts"]
        assert spec["initContainers"][0]["name"] == "own-model-cache"
        assert spec["securityContext"]["runAsNonRoot"] is True  # the worker itself never runs as root


def test_assign_and_events_have_their_own_threaded_pool_autoscaler_and_routes(rendered):
    hot, web = find(rendered, "Deployment", "web-hot"), find(rendered, "Deployment", "web")
    for res in (hot, web):
        env = env_of(main_container(res))
        assert env["WEB_WORKER_CLASS"] == "gthread" and int(env["WEB_THREADS"]) > 1  # a wait holds a thread
        assert main_container(res)["args"] == ["web"]
    assert "replicas" not in hot["spec"]  # its HPA owns the count
    (hpa,) = [r for r in rendered if r["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-hot"}
    assert hpa["spec"]["minReplicas"] >= 2
    svc = find(rendered, "Service", "web-hot")
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "web-hot"}
    routes = {p["path"]: p["backend"]["service"]["name"] for r in rendered if r["kind"] == "Ingress"
              for rule in r["spec"]["rules"] for p in rule["http"]["paths"]}
    assert routes["/api/v1/events"] == "web-hot" and routes["/api"] == "web"
    (assign,) = [path for path, svc in routes.items() if "assign" in path]
    assert routes[assign] == "web-hot"
    assert re.fullmatch(assign, "/api/v1/experiments/12/assign") and not re.fullmatch(assign, "/api/v1/experiments/12")
    from django.urls import reverse

    assert re.fullmatch(assign, reverse("experiment-assign", kwargs={"pk": 12}).rstrip("/"))
    assert reverse("event-ingest").rstrip("/") == "/api/v1/events"


def _task_time_limits(rendered) -> dict[str, int]:
    from prefcontent.generation.conf import generation_settings

    return {
        "default": settings.CELERY_TASK_TIME_LIMIT,
        "generate": generation_settings().task_time_limit_s,
        "gpu": int(config(rendered)["TRAINING_TASK_TIME_LIMIT"]),
    }


def test_workers_scale_on_their_queue_and_scale_down_never_kills_a_running_task(rendered):
    from prefcontent.celery import app

    queues = {q.name for q in app.conf.task_queues}
    limits = _task_time_limits(rendered)
    scaled = {r["spec"]["scaleTargetRef"]["name"]: r for r in rendered if r["kind"] == "ScaledObject"}
    assert set(scaled) == {"worker-default", "worker-generate", "worker-gpu"}  # the generate and gpu queues both
    for name, so in scaled.items():
        worker = find(rendered, "Deployment", name)
        queue = env_of(main_container(worker))["CELERY_QUEUES"]
        (trigger,) = so["spec"]["triggers"]
        assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == queue and queue in queues
        assert trigger["metadata"]["addressFromEnv"] in config(rendered)
        auth = find(rendered, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        assert auth["spec"]["secretTargetRef"][0]["name"] == "prefcontent-secrets"
        # KEDA must not fight `kubectl apply` over the replica count.
        assert "replicas" not in worker["spec"]
        # SIGTERM starts Celery's warm shutdown; the grace period outlasts the longest task.
        assert pod_spec(worker)["terminationGracePeriodSeconds"] > limits[queue], name
        assert main_container(worker)["args"][0] == "worker"
    assert scaled["worker-gpu"]["spec"]["cooldownPeriod"] >= 600
    # A message a killed worker held is redelivered: acked only after the task ran, and Redis
    # does not hand a still-running task to a second worker before the longest one can finish.
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True
    assert int(config(rendered)["CELERY_VISIBILITY_TIMEOUT"]) > max(limits.values())


def test_migrations_run_once_before_new_pods_start(rendered):
    job = find(rendered, "Job", "prefcontent-migrate")
    assert main_container(job)["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    for name in ("web", "web-hot", "worker-default", "worker-generate", "worker-gpu", "scheduler"):
        (init,) = [c for c in pod_spec(find(rendered, "Deployment", name))["initContainers"]
                   if c["name"] != "own-model-cache"]
        assert "migrate --check" in init["command"][-1], name


def test_the_models_store_is_one_shared_read_write_many_volume(rendered):
    pvc = find(rendered, "PersistentVolumeClaim", "prefcontent-data")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    store = config(rendered)["MODELS_STORE_URL"]
    for name in ("web", "web-hot", "worker-default", "worker-generate", "worker-gpu"):
        spec = pod_spec(find(rendered, "Deployment", name))
        (volume,) = [v for v in spec["volumes"] if v.get("persistentVolumeClaim")]
        assert volume["persistentVolumeClaim"]["claimName"] == "prefcontent-data"
        mounts = {m["name"]: m["mountPath"] for m in main_container(find(rendered, "Deployment", name))["volumeMounts"]}
        assert store.startswith(mounts[volume["name"]] + "/"), name


def test_every_service_selects_pods_that_expose_its_target_port(rendered):
    for svc in (r for r in rendered if r["kind"] == "Service"):
        pods = [r for r in rendered if pod_spec(r) is not None and r["kind"] != "Job"
                and svc["spec"]["selector"].items() <= r["spec"]["template"]["metadata"]["labels"].items()]
        assert pods, svc["metadata"]["name"]
        for port in svc["spec"]["ports"]:
            names = {p.get("name") for p in main_container(pods[0]).get("ports", [])}
            assert port["targetPort"] in names, (svc["metadata"]["name"], port)



def code_text() -> str:
    """The application's and the images' sources: whatever reads environment variables."""
    files = [*ROOT.glob("prefcontent/**/*.py"), *ROOT.glob("ml/**/*.py"), ROOT / "deploy" / "entrypoint.sh",
             ROOT / "deploy" / "gunicorn.conf.py"]
    return "\n".join(f.read_text() for f in files)


def read_by_code(name: str, text: str) -> bool:
    return re.search(rf"[\"']{name}[\"']|\$\{{{name}\b", text) is not None


def test_every_configured_variable_is_read_by_something(rendered):
    """A misspelt variable would be ignored silently: each is read by the code, a manifest or KEDA."""
    text = code_text()
    manifests = json.dumps(rendered)
    for name in config(rendered):
        assert read_by_code(name, text) or f"$({name})" in manifests or f'FromEnv": "{name}"' in manifests, name


def test_the_cache_is_a_documented_secret_and_one_proxy_hop_is_trusted(rendered):
    """CACHE_URL carries the Redis password, so it is a Secret key (listed with the others); NUM_PROXIES 1 is
    the ingress."""
    from pathlib import Path

    assert config(rendered)["NUM_PROXIES"] == "1"
    assert "CACHE_URL" not in config(rendered)
    assert "CACHE_URL" in (Path(__file__).resolve().parents[2] / "deploy/k8s/base/config.yaml").read_text()
    docs = (Path(__file__).resolve().parents[2] / "docs/operations.md").read_text()
    assert '--from-literal=CACHE_URL="redis://:$REDIS_PASSWORD@redis:6379/1"' in docs
