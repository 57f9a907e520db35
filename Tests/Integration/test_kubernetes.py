"""contrib/kubernetes against the real server: valid YAML, objects that point at each other,
and a container command that the real `swiftlm serve` takes (it is started with exactly those
arguments, only the model path, address, port and threads swapped for loopback ones), whose
probe paths, port and autoscaling metric are the ones that server really serves."""
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from conftest import BINARY, ROOT, Server, free_port, model_path

MANIFESTS = ROOT / "contrib" / "kubernetes"


def load(name: str) -> dict:
    documents = list(yaml.safe_load_all((MANIFESTS / name).read_text()))
    assert len(documents) == 1, f"{name}: one object expected"
    return documents[0]


def flag_value(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, f"{flag} appears {args.count(flag)} times in {args}"
    return args[args.index(flag) + 1]


def with_value(args: list[str], flag: str, value: str) -> list[str]:
    i = args.index(flag)
    return args[:i + 1] + [value] + args[i + 2:]


class DeploymentServer(Server):
    """`swiftlm` started with a container's arguments."""

    def __init__(self, args: list[str], port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"swiftlm-k8s-{port}.log"  # as conftest.Server
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([str(BINARY), *args], stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_healthy(60)


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict]:
    objects = {name: load(name) for name in ("deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml")}
    assert [o["kind"] for o in objects.values()] == \
           ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]
    return objects


def test_objects_point_at_each_other(manifests):
    deployment, service, pdb, hpa = manifests.values()
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2  # the PDB's maxUnavailable 1 then leaves one serving
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in port_names


def test_container_command_runs_and_serves_its_probes_and_metric(manifests):
    deployment, _, _, hpa = manifests.values()
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    args = [str(a) for a in container["args"]]
    assert args[0] == "serve"

    # Every flag is one `swiftlm serve` has.
    help_text = subprocess.run([str(BINARY), "serve", "--help"], check=True, capture_output=True, text=True).stdout
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text))
    flags = [a for a in args if a.startswith("--")]
    assert set(flags) <= known, f"not in `swiftlm serve --help`: {set(flags) - known}"

    # The port the server listens on is the container's, the probes' and the scrape annotation's.
    port = int(flag_value(args, "--port"))
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in port_names.values()
    assert flag_value(args, "--host") == "0.0.0.0"  # reachable from the Service, not loopback only
    assert int(pod["metadata"]["annotations"]["prometheus.io/port"]) == port
    probes = {kind: container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    for kind, probe in probes.items():
        assert port_names[probe["httpGet"]["port"]] == port, kind

    # Draining: the kubelet waits out preStop, then SIGTERM gives requests --shutdown-timeout.
    (sleep_command, seconds) = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep_command.endswith("sleep")
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= float(seconds) + float(flag_value(args, "--shutdown-timeout")), grace
    # Model load gets minutes before the kubelet gives up on the pod.
    startup = probes["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    # The CPU request is what the decode threads use.
    assert float(container["resources"]["requests"]["cpu"]) == float(flag_value(args, "--threads"))

    # Started with these very arguments (model, address, port and threads swapped for the test's).
    local = free_port()
    run = with_value(args, "--model-path", model_path())
    run = with_value(run, "--host", "127.0.0.1")
    run = with_value(run, "--port", str(local))
    run = with_value(run, "--threads", "1")
    server = DeploymentServer(run, local)
    try:
        for kind, probe in probes.items():
            r = requests.get(server.url + probe["httpGet"]["path"], timeout=5)
            assert r.status_code == 200, (kind, r.status_code, r.text)
        assert r.json()["status"] == "ok"
        alias = flag_value(args, "--alias")
        assert [m["id"] for m in requests.get(server.url + "/v1/models", timeout=5).json()["data"]] == [alias]

        # The autoscaler's metric is a gauge this server exports.
        (metric,) = hpa["spec"]["metrics"]
        name = metric["pods"]["metric"]["name"]
        text = requests.get(server.url + "/metrics", timeout=5).text
        assert re.search(rf"^# TYPE {name} gauge$", text, re.MULTILINE), f"{name} is not a gauge in /metrics"
        assert re.search(rf"^{name} 0(\.0)?$", text, re.MULTILINE), f"{name} of an idle server is not 0"
    finally:
        server.stop()
