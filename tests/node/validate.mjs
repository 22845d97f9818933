// validate.mjs - offline checks of the deployment files, run by
// tests/node/test_deploy.py (and so by `make test`):
//   node validate.mjs ROOT   (ROOT: the project checkout, or a copy of it)
// - Containerfile: dockerfilelint, and every RUN a make target or script;
// - k8s/: every base resource and every overlay result (patches merged the
//   way kustomize's strategic merge does for these shapes) validated against
//   the Kubernetes API schemas (kubernetes-models);
// - infra/: azuredeploy.json's structure, and its parameters match main.bicep.
// Prints one line per problem and exits 1 if there is any.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

const root = process.argv[2] || process.cwd();
const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

// ---- Containerfile -----------------------------------------------------
function checkContainerfile() {
  const path = join(root, "Containerfile");
  const lint = join(import.meta.dirname, "node_modules", ".bin", "dockerfilelint");
  try {
    execFileSync(lint, ["-o", "json", path], { encoding: "utf8" });
  } catch (e) {
    let report = e.stdout;
    try {
      const parsed = JSON.parse(e.stdout);
      report = JSON.stringify(parsed.files?.[0]?.issues ?? parsed);
    } catch { /* keep the raw text */ }
    fail("Containerfile", `dockerfilelint: ${report}`);
  }
  const text = readFileSync(path, "utf8").replace(/\\\n/g, " ");
  for (const line of text.split("\n")) {
    const m = line.match(/^RUN\s+(.*)$/);
    if (!m) continue;
    const steps = m[1].split("&&").map((s) => s.trim());
    for (const step of steps) {
      const ok = /^(make( -C \S+)? [\w -]+|rootfs\/build\.sh \S+|apt-get (update|install .*)|rm -rf \/var\/lib\/apt\/lists\/\*)$/.test(step);
      if (!ok) fail("Containerfile", `RUN step is not a make target or project script: ${step}`);
    }
  }
}

// ---- Kubernetes ----------------------------------------------------------
const kinds = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "autoscaling/v2/HorizontalPodAutoscaler": "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
};

function loadYaml(path) {
  return parseAllDocuments(readFileSync(path, "utf8")).map((d) => {
    if (d.errors.length) fail(path, d.errors.map(String).join("; "));
    return d.toJS();
  }).filter(Boolean);
}

// Strategic merge for what our patches use: objects merge, lists of named
// items (containers) merge by name, other lists replace.
function merge(base, patch) {
  if (Array.isArray(base) && Array.isArray(patch)) {
    if (patch.every((p) => p && typeof p === "object" && "name" in p) &&
        base.every((b) => b && typeof b === "object" && "name" in b)) {
      const out = base.map((b) => {
        const p = patch.find((x) => x.name === b.name);
        return p ? merge(b, p) : b;
      });
      return out.concat(patch.filter((p) => !base.some((b) => b.name === p.name)));
    }
    return patch;
  }
  if (base && patch && typeof base === "object" && typeof patch === "object") {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return patch;
}

async function validateObject(where, obj) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const mod = kinds[key];
  if (!mod) return fail(where, `unexpected kind ${key}`);
  const Model = (await import(mod))[obj.kind];
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(where, `${obj.kind} ${obj.metadata?.name}: ${e.message}`);
  }
}

// Builds a kustomization's objects (resources, then patches).
function build(dir) {
  const kfile = join(dir, "kustomization.yaml");
  const [k] = loadYaml(kfile);
  if (!k || k.kind !== "Kustomization") {
    fail(kfile, "not a Kustomization");
    return [];
  }
  let objects = [];
  for (const r of k.resources || []) {
    const p = join(dir, r);
    if (!existsSync(p)) { fail(kfile, `missing resource ${r}`); continue; }
    objects = objects.concat(existsSync(join(p, "kustomization.yaml")) ? build(p) : loadYaml(p));
  }
  for (const { path } of k.patches || []) {
    for (const patch of loadYaml(join(dir, path))) {
      const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata?.name === patch.metadata?.name);
      if (i < 0) fail(kfile, `patch ${path} matches no ${patch.kind} ${patch.metadata?.name}`);
      else objects[i] = merge(objects[i], patch);
    }
  }
  for (const { pairs } of k.labels || []) {
    for (const o of objects) o.metadata = { ...o.metadata, labels: { ...(o.metadata?.labels || {}), ...pairs } };
  }
  return objects;
}

async function checkKubernetes() {
  const dirs = [join(root, "k8s", "base")];
  const overlays = join(root, "k8s", "overlays");
  for (const d of existsSync(overlays) ? readdirSync(overlays) : []) dirs.push(join(overlays, d));
  if (dirs.length < 3) fail("k8s", "expected the base and at least two overlays");
  for (const dir of dirs) {
    for (const obj of build(dir)) await validateObject(dir, obj);
  }
  const deploy = (o) => o.kind === "Deployment";
  const userns = build(join(overlays, "userns")).find(deploy);
  if (userns?.spec?.template?.spec?.hostUsers !== false) fail("k8s/overlays/userns", "hostUsers must be false");
  const priv = build(join(overlays, "privileged")).find(deploy);
  if (priv?.spec?.template?.spec?.containers?.[0]?.securityContext?.privileged !== true)
    fail("k8s/overlays/privileged", "container must be privileged");
  const base = build(join(root, "k8s", "base")).find(deploy);
  const grace = base?.spec?.template?.spec?.terminationGracePeriodSeconds ?? 0;
  if (grace <= 300) fail("k8s/base/deployment.yaml", "terminationGracePeriodSeconds must exceed the 300 s job maximum");
}

// ---- Azure ----------------------------------------------------------------
function checkAzure() {
  const path = join(root, "infra", "azuredeploy.json");
  let t;
  try {
    t = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    return fail(path, `not JSON: ${e.message}`);
  }
  if (!/deploymentTemplate\.json#$/.test(t.$schema || "")) fail(path, "$schema is not an ARM deployment template");
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(t.contentVersion || "")) fail(path, "contentVersion must look like 1.0.0.0");
  if (!Array.isArray(t.resources) || t.resources.length === 0) fail(path, "no resources");
  for (const r of t.resources || []) {
    for (const f of ["type", "apiVersion", "name"]) if (!r[f]) fail(path, `resource without ${f}`);
    if (r.apiVersion && !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(r.apiVersion)) fail(path, `bad apiVersion ${r.apiVersion}`);
  }
  const validTypes = new Set(["string", "int", "bool", "object", "array", "securestring", "secureobject"]);
  for (const [name, p] of Object.entries(t.parameters || {})) {
    if (!validTypes.has(p.type)) fail(path, `parameter ${name} has type ${p.type}`);
  }
  const text = JSON.stringify(t);
  for (const m of text.matchAll(/parameters\('(\w+)'\)/g)) {
    if (!(m[1] in (t.parameters || {}))) fail(path, `uses undeclared parameter ${m[1]}`);
  }
  const bicep = readFileSync(join(root, "infra", "main.bicep"), "utf8");
  const bicepParams = [...bicep.matchAll(/^param (\w+) /gm)].map((m) => m[1]).sort();
  const armParams = Object.keys(t.parameters || {}).sort();
  if (JSON.stringify(bicepParams) !== JSON.stringify(armParams))
    fail(path, `parameters ${armParams} differ from main.bicep's ${bicepParams}`);
  const azd = readFileSync(join(root, "infra", "azure.yaml"), "utf8");
  const [a] = parseAllDocuments(azd).map((d) => d.toJS());
  if (!a?.name || a?.infra?.provider !== "bicep") fail("infra/azure.yaml", "needs a name and infra.provider: bicep");
}

checkContainerfile();
await checkKubernetes();
checkAzure();
for (const p of problems) console.log(p);
console.log(problems.length ? `${problems.length} problems` : "deployment files valid");
process.exit(problems.length ? 1 : 0);
