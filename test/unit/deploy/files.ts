/**
 * Reading the deployment files the way their tools do: the Dockerfile's instructions, the compose
 * file with its anchors, merge keys and `${VAR:-default}` interpolation, and the Kubernetes
 * manifests with env values resolved from the Secret template and the downward API. Only what the
 * consistency tests need; every parser fails loudly on a shape it does not know.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

/** Root of the repository. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The image every compose service of ours runs. */
export const OUR_IMAGE = "eventhub-worker:local";

/** Text of a file under the repository root. */
export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

/** One Dockerfile instruction: its keyword (upper-case) and the rest of the line, continuations joined. */
export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

/** Instructions of a Dockerfile; comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  return logical.map((line) => {
    const at = line.search(/\s/);
    return { keyword: line.slice(0, at).toUpperCase(), args: line.slice(at + 1).trim() };
  });
}

/** The instructions of the Dockerfile's last stage (the image that runs). */
export function runtimeStage(instructions: readonly DockerInstruction[]): DockerInstruction[] {
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  if (lastFrom < 0) throw new Error("Dockerfile has no FROM");
  return instructions.slice(lastFrom);
}

/** `ENV A=b C=d` (and the legacy `ENV A b`) of a stage, in order. */
export function dockerEnv(stage: readonly DockerInstruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage) {
    if (keyword !== "ENV") continue;
    if (!args.includes("=")) {
      const [name, ...rest] = args.split(/\s+/);
      env[name ?? ""] = rest.join(" ");
      continue;
    }
    for (const pair of args.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
      const at = pair.indexOf("=");
      env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"|"$/g, "");
    }
  }
  return env;
}

/** The JSON array of an exec-form instruction (`CMD ["run"]`); throws for shell form. */
export function execForm(instruction: DockerInstruction | undefined, what: string): string[] {
  if (instruction === undefined) throw new Error(`Dockerfile has no ${what}`);
  const json = instruction.args.slice(instruction.args.indexOf("["));
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`${what} is not in exec form: ${instruction.args}`);
  }
  return value as string[];
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` with every variable unset; `$$` is `$`. */
export function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, def?: string) => def ?? "")
    .replaceAll("$$", "$");
}

/** A compose service as far as these checks read it. */
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | null> | string[];
  profiles?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  healthcheck?: { test?: string[] | string };
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
}

/** docker-compose.yml with anchors and merge keys resolved, as compose reads it. */
export function loadCompose(text = readRepoFile("docker-compose.yml")): {
  services: Record<string, ComposeService>;
} {
  const doc = parse(text, { merge: true }) as { services?: Record<string, ComposeService> };
  if (doc.services === undefined) throw new Error("docker-compose.yml has no services");
  return { services: doc.services };
}

/** A service's environment as a map, interpolated with every host variable unset. */
export function composeEnv(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((item) => {
        const at = item.indexOf("=");
        return [item.slice(0, at), item.slice(at + 1)] as const;
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? "" : String(v)] as const);
  for (const [name, value] of entries) env[name] = interpolate(value);
  return env;
}

/** A compose command as an argument list (compose splits a string form like a shell would, roughly). */
export function composeCommand(service: ComposeService): string[] {
  const { command } = service;
  if (command === undefined) return [];
  return typeof command === "string" ? command.split(/\s+/).filter(Boolean) : command.map(String);
}

/** Milliseconds of a compose duration (`30s`, `1m30s`, `500ms`). */
export function composeDurationMs(text: string): number {
  let total = 0;
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (parts === null || parts.join("") !== text) throw new Error(`not a compose duration: ${text}`);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  for (const part of parts) {
    const [, n, u] = /(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(part) ?? [];
    total += Number(n) * (unit[u ?? ""] ?? Number.NaN);
  }
  return total;
}

/** A Kubernetes object as far as these checks read it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are read as loose documents and checked field by field.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Every document of every YAML file in deploy/kubernetes, with the file it came from. */
export function loadKubernetes(dir = "deploy/kubernetes"): Array<{ file: string; object: K8sObject }> {
  const out: Array<{ file: string; object: K8sObject }> = [];
  for (const file of readdirSync(join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readRepoFile(join(dir, file)))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as K8sObject | null;
      if (object !== null) out.push({ file, object });
    }
  }
  return out;
}

/** The one object of a kind (and name, when given); throws when there is not exactly one. */
export function only(objects: ReadonlyArray<{ object: K8sObject }>, kind: string, name?: string): K8sObject {
  const found = objects
    .map((o) => o.object)
    .filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as K8sObject;
}

/** A container's env with secretKeyRef, configMapKeyRef and the pod-name fieldRef resolved. */
export function kubernetesEnv(
  // biome-ignore lint/suspicious/noExplicitAny: a container spec read from YAML.
  container: any,
  objects: ReadonlyArray<{ object: K8sObject }>,
  podName = "eventhub-worker-5d8f7c9b6-x2x7q",
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of container.env ?? []) {
    if (item.value !== undefined) {
      env[item.name] = String(item.value);
      continue;
    }
    const from = item.valueFrom ?? {};
    if (from.fieldRef?.fieldPath === "metadata.name") {
      env[item.name] = podName;
    } else if (from.secretKeyRef !== undefined) {
      const secret = only(objects, "Secret", from.secretKeyRef.name);
      const value = secret.stringData?.[from.secretKeyRef.key];
      if (value === undefined)
        throw new Error(`Secret ${secret.metadata.name} has no ${from.secretKeyRef.key}`);
      env[item.name] = value;
    } else if (from.configMapKeyRef !== undefined) {
      const map = only(objects, "ConfigMap", from.configMapKeyRef.name);
      env[item.name] = map.data?.[from.configMapKeyRef.key] ?? "";
    } else {
      throw new Error(`env ${item.name}: unsupported valueFrom ${JSON.stringify(from)}`);
    }
  }
  return env;
}
