"""A small kustomize renderer for the features deploy/k8s uses (no kustomize binary here).

Supported: resources (files and directories with a kustomization.yaml), namespace,
labels (metadata labels only), images (newName / newTag), replicas, and patches given as
inline JSON 6902 operations with a kind + name target. Any other field fails loudly, so a
manifest never renders differently here than under `kubectl kustomize` without notice.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas", "patches"}
# Kinds that live outside namespaces (the namespace transformer leaves them alone).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "ClusterTriggerAuthentication"}


class KustomizeError(Exception):
    pass


def load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def build(directory: Path) -> list[dict]:
    kfile = directory / "kustomization.yaml"
    kust = yaml.safe_load(kfile.read_text())
    unknown = set(kust) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kfile}: unsupported fields {sorted(unknown)}")
    resources: list[dict] = []
    for entry in kust.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            resources.extend(build(target))
        elif target.is_file():
            resources.extend(load_yaml_documents(target))
        else:
            raise KustomizeError(f"{kfile}: resource {entry!r} does not exist")
    _check_unique(resources, kfile)
    for patch in kust.get("patches", []):
        _apply_patch(resources, patch, kfile)
    for label in kust.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise KustomizeError(f"{kfile}: labels with includeSelectors/includeTemplates are not supported")
        for res in resources:
            res.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for image in kust.get("images", []):
        _set_image(resources, image)
    for replica in kust.get("replicas", []):
        _set_replicas(resources, replica, kfile)
    if "namespace" in kust:
        for res in resources:
            if res["kind"] not in CLUSTER_SCOPED:
                res["metadata"]["namespace"] = kust["namespace"]
    return resources


def _check_unique(resources: list[dict], kfile: Path) -> None:
    seen = set()
    for res in resources:
        key = (res["apiVersion"], res["kind"], res["metadata"]["name"])
        if key in seen:
            raise KustomizeError(f"{kfile}: {key} is defined twice")
        seen.add(key)


def _matching(resources: list[dict], kind: str, name: str) -> list[dict]:
    return [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]


def _apply_patch(resources: list[dict], patch: dict, kfile: Path) -> None:
    if set(patch) != {"target", "patch"} or set(patch["target"]) - {"kind", "name"}:
        raise KustomizeError(f"{kfile}: only inline JSON 6902 patches with a kind/name target are supported")
    targets = _matching(resources, patch["target"]["kind"], patch["target"]["name"])
    if not targets:
        raise KustomizeError(f"{kfile}: patch target {patch['target']} matches nothing")
    for res in targets:
        for op in yaml.safe_load(patch["patch"]):
            _json_patch(res, op, kfile)


def _json_patch(doc: dict, op: dict, kfile: Path) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
    parent = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if op["op"] == "add":
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
        else:
            parent[last] = copy.deepcopy(op["value"])
    elif op["op"] == "replace":
        if (isinstance(parent, dict) and last not in parent) or (isinstance(parent, list) and int(last) >= len(parent)):
            raise KustomizeError(f"{kfile}: replace of missing path {op['path']}")
        parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(op["value"])
    elif op["op"] == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    else:
        raise KustomizeError(f"{kfile}: unsupported JSON patch op {op['op']!r}")


def pod_spec(res: dict) -> dict | None:
    spec = res.get("spec", {})
    if res["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"}:
        return spec["template"]["spec"]
    return None


def containers(res: dict) -> list[dict]:
    spec = pod_spec(res)
    return [] if spec is None else spec.get("initContainers", []) + spec.get("containers", [])


def _set_image(resources: list[dict], image: dict) -> None:
    for res in resources:
        for container in containers(res):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            new_tag = image.get("newTag", tag)
            container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _set_replicas(resources: list[dict], replica: dict, kfile: Path) -> None:
    targets = [r for r in resources if r["kind"] in {"Deployment", "StatefulSet"}
               and r["metadata"]["name"] == replica["name"]]
    if not targets:
        raise KustomizeError(f"{kfile}: replicas for unknown workload {replica['name']!r}")
    for res in targets:
        res["spec"]["replicas"] = replica["count"]
