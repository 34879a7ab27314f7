/**
 * The Dockerfile, docker-compose.yml, the Kubernetes manifests, the container drill script and
 * docs/containers.md against the CLI they run: variables ehw reads, commands and flags it
 * accepts, the metrics port and probe paths, drain deadlines against grace periods, and the blob
 * layout KEDA reads against the one the worker writes. No Docker engine or cluster is needed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { checkpointBlobPrefixes } from "../../../src/checkpoint/blob-store.js";
import { CONNECTION_STRING_ENV, HUB_ENV } from "../../../src/cli/send.js";
import { parseConnectionStringParts } from "../../../src/config/connection.js";
import { readRawWorkerOptions, WORKER_OPTIONS_HELP } from "../../../src/config/source.js";
import { compileWorkerConfig, SETTINGS } from "../../../src/config/worker.js";
import { compileHubSpec, parseConfigFile, parseHubFlag } from "../../../src/emulator/config.js";
import { loadHandlerRegistry } from "../../../src/handlers/index.js";
import { silentLogger } from "../../../src/observability/logger.js";
import {
  type ComposeService,
  composeCommand,
  composeDurationMs,
  composeEnv,
  dockerEnv,
  execForm,
  kubernetesEnv,
  loadCompose,
  loadKubernetes,
  OUR_IMAGE,
  only,
  parseDockerfile,
  ROOT,
  readRepoFile,
  runtimeStage,
} from "./files.js";
import { cliCommandModules, type Invocation, invocationsIn, shellLines } from "./invocations.js";

const dockerfile = runtimeStage(parseDockerfile(readRepoFile("Dockerfile")));
const imageEnv = dockerEnv(dockerfile);
const { services } = loadCompose();
const ours = Object.entries(services).filter(([, s]) => s.image === OUR_IMAGE);
const manifests = loadKubernetes();
const deployment = only(manifests, "Deployment");
const workerContainer = deployment.spec.template.spec.containers[0];
const k8sEnv = kubernetesEnv(workerContainer, manifests);
const scaledObject = only(manifests, "ScaledObject");
const commands = cliCommandModules();

/** Env vars `ehw run` (and `status`, which shares its settings) reads: every `env X` of its help. */
const workerEnvNames = new Set(
  [...WORKER_OPTIONS_HELP.matchAll(/\benv (EHW_[A-Z0-9_]+)/g)].map((m) => m[1] as string),
);
/** Env vars `ehw send` reads. */
const sendEnvNames = new Set([CONNECTION_STRING_ENV, HUB_ENV]);

function setting(envName: string) {
  return Object.values(SETTINGS).find((s) => s.env === envName);
}

/** Whether `ehw run` reads its metrics port yet (the setting that serves /metrics, /healthz, /readyz). */
const metricsWired = setting("EHW_METRICS_PORT") !== undefined;
/**
 * Until then the files may already set the metrics variables (the reader ignores unknown ones);
 * once the port setting exists, both must be real settings like every other variable.
 */
const pendingEnvNames = new Set(metricsWired ? [] : ["EHW_METRICS_PORT", "EHW_METRICS_HOST"]);

function envNamesFor(command: string): Set<string> {
  return command === "send" ? sendEnvNames : new Set([...workerEnvNames, ...pendingEnvNames]);
}

/** The service's subcommand: its command, else the image's CMD. */
function commandOf(service: ComposeService): string {
  return (
    composeCommand(service)[0] ??
    execForm(
      dockerfile.findLast((i) => i.keyword === "CMD"),
      "CMD",
    )[0] ??
    ""
  );
}

describe("environment variables", () => {
  it("the settings table is what `ehw run --help` lists", () => {
    for (const spec of Object.values(SETTINGS)) expect(workerEnvNames).toContain(spec.env);
    expect(workerEnvNames).toContain("EHW_CONFIG");
  });

  it("the image sets only variables the worker reads", () => {
    const known = envNamesFor("run");
    const unknown = Object.keys(imageEnv).filter((n) => n.startsWith("EHW_") && !known.has(n));
    expect(unknown).toEqual([]);
  });

  it("every compose service of our image sets only variables its command reads", () => {
    expect(ours.map(([name]) => name).sort()).toEqual(["eventhubs", "producer", "worker"]);
    for (const [name, service] of ours) {
      const known = envNamesFor(commandOf(service));
      const unknown = Object.keys(composeEnv(service)).filter((n) => n.startsWith("EHW_") && !known.has(n));
      expect(unknown, `service ${name}`).toEqual([]);
    }
  });

  it("the Deployment sets only variables the worker reads, and KEDA reads variables it sets", () => {
    const known = envNamesFor("run");
    const unknown = Object.keys(k8sEnv).filter((n) => n.startsWith("EHW_") && !known.has(n));
    expect(unknown).toEqual([]);
    const trigger = scaledObject.spec.triggers[0].metadata;
    for (const key of ["connectionFromEnv", "storageConnectionFromEnv", "eventHubNameFromEnv"]) {
      expect(Object.keys(k8sEnv), key).toContain(trigger[key]);
    }
  });

  it("the compose worker's and the Deployment's settings compile into a worker config", () => {
    const { worker } = services;
    expect(worker).toBeDefined();
    const composed = readRawWorkerOptions(
      [],
      { ...imageEnv, ...composeEnv(worker as ComposeService) },
      "/app",
    );
    expect(() => compileWorkerConfig(composed.raw, { baseDir: "/app" })).not.toThrow();
    const config = only(manifests, "ConfigMap", "eventhub-worker-config").data?.["worker.config.json"];
    const dir = mkdtempSync(join(tmpdir(), "ehw-k8s-config-"));
    try {
      writeFileSync(join(dir, "worker.config.json"), config ?? "");
      const env = { ...imageEnv, ...k8sEnv, EHW_CONFIG: join(dir, "worker.config.json") };
      const read = readRawWorkerOptions([], env, "/app");
      const compiled = compileWorkerConfig(read.raw, { baseDir: "/app" });
      expect(compiled.loadBalancing.ownerId).toBe(k8sEnv.EHW_OWNER_ID);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("commands and flags", () => {
  const silence: Array<ReturnType<typeof vi.spyOn>> = [];
  beforeAll(() => {
    silence.push(vi.spyOn(console, "log").mockImplementation(() => {}));
    silence.push(vi.spyOn(console, "error").mockImplementation(() => {}));
  });
  afterAll(() => {
    for (const spy of silence) spy.mockRestore();
  });

  /** Every invocation the files make: the image's CMD, compose commands, the Deployment's args, scripts, docs. */
  function invocations(): Invocation[] {
    const list: Invocation[] = [];
    const cmd = execForm(
      dockerfile.findLast((i) => i.keyword === "CMD"),
      "CMD",
    );
    list.push({ where: "Dockerfile CMD", command: cmd[0] ?? "", args: cmd.slice(1) });
    for (const [name, service] of ours) {
      const [command = "", ...args] = composeCommand(service);
      list.push({ where: `compose service ${name}`, command, args });
    }
    const [command = "", ...args] = workerContainer.args ?? [];
    list.push({ where: "Deployment args", command, args });
    const drill = readRepoFile("docker/drill.sh");
    list.push(...invocationsIn(shellLines(drill, false), "docker/drill.sh"));
    for (const match of drill.matchAll(/\bstatus((?: --[a-z-]+)+)/g)) {
      list.push({ where: "docker/drill.sh", command: "status", args: (match[1] ?? "").trim().split(" ") });
    }
    list.push(...invocationsIn(shellLines(readRepoFile("docs/containers.md"), true), "docs/containers.md"));
    return list;
  }

  it("the drill script parses as bash", () => {
    const result = spawnSync("bash", ["-n", join(ROOT, "docker", "drill.sh")], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("the image runs the built CLI in exec form, `ehw run` by default", () => {
    expect(
      execForm(
        dockerfile.findLast((i) => i.keyword === "ENTRYPOINT"),
        "ENTRYPOINT",
      ),
    ).toEqual(["node", "/app/dist/cli/index.js"]);
    expect(
      execForm(
        dockerfile.findLast((i) => i.keyword === "CMD"),
        "CMD",
      ),
    ).toEqual(["run"]);
  });

  it("every invocation names an ehw command and passes flags that command accepts", async () => {
    const found = invocations();
    expect(found.length).toBeGreaterThan(5);
    for (const { where, command, args } of found) {
      const file = commands.get(command);
      expect(file, `${where}: 'ehw ${command}' is not a command`).toBeDefined();
      const module = (await import(`../../../src/cli/${file}.ts`)) as {
        main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
      };
      // Each command parses its whole command line before it acts on --help; an unknown flag
      // or one missing its value exits 2 instead of 0.
      const code = await module.main([...args, "--help"], {});
      expect(code, `${where}: ehw ${command} ${args.join(" ")}`).toBe(0);
    }
  });
});

describe("image contents", () => {
  /** Bare package names src/ loads at run time: value imports, dynamic imports, require.resolve. */
  function runtimePackages(): Map<string, string[]> {
    const found = new Map<string, string[]>();
    const files = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".ts"),
    );
    for (const file of files) {
      const text = readRepoFile(join("src", file));
      const patterns = [
        /^import\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm,
        /\bimport\(\s*"([^"]+)"\s*\)/g,
        /\brequire\.resolve\(\s*"([^"]+)"\s*\)/g,
      ];
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          const specifier = match[1] ?? "";
          if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
          const name = specifier
            .split("/")
            .slice(0, specifier.startsWith("@") ? 2 : 1)
            .join("/");
          found.set(name, [...(found.get(name) ?? []), file]);
        }
      }
    }
    return found;
  }

  it("every package the built worker loads is a production dependency (the image omits dev ones)", () => {
    const pkg = JSON.parse(readRepoFile("package.json")) as {
      dependencies: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const used = runtimePackages();
    expect(used.size).toBeGreaterThan(3);
    // tsx is resolved only when ehw runs from its TypeScript sources, never from dist/.
    expect(used.get("tsx") ?? []).toEqual(used.has("tsx") ? ["local/cli-command.ts"] : []);
    used.delete("tsx");
    // Optional dependencies (the tracing SDK) count: --omit=dev keeps them, unless told to omit them too.
    const optional = pkg.optionalDependencies ?? {};
    const missing = [...used.keys()].filter(
      (name) => pkg.dependencies[name] === undefined && optional[name] === undefined,
    );
    expect(missing).toEqual([]);
    const allStages = parseDockerfile(readRepoFile("Dockerfile"));
    const production = allStages.filter((i) => i.keyword === "RUN" && i.args.includes("--omit=dev"));
    expect(production.length).toBe(1);
    expect(production[0]?.args).not.toContain("--omit=optional");
  });

  it("the runtime stage copies the built output, production modules and package.json (ESM type)", () => {
    const copies = dockerfile.filter((i) => i.keyword === "COPY").map((i) => i.args);
    expect(copies).toEqual(
      expect.arrayContaining([
        "--from=deps /app/node_modules ./node_modules",
        "--from=build /src/dist ./dist",
        "package.json ./",
      ]),
    );
    const deps = parseDockerfile(readRepoFile("Dockerfile")).filter((i) => i.keyword === "RUN");
    expect(deps.map((i) => i.args).join("\n")).toContain("npm install --omit=dev");
    expect(JSON.parse(readRepoFile("package.json")).type).toBe("module");
  });
});

describe("ports and probes", () => {
  const exposed = dockerfile.filter((i) => i.keyword === "EXPOSE").map((i) => i.args);
  const port = Number(exposed[0]);

  it("the image exposes one port and health-checks it on /healthz from inside the container", () => {
    expect(exposed).toHaveLength(1);
    expect(Number.isInteger(port) && port > 0).toBe(true);
    const check = dockerfile.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "";
    expect(check).toContain(`process.env.EHW_METRICS_PORT||'${port}'`);
    expect(check).toContain("http://127.0.0.1:");
    expect(check).toContain("/healthz");
    // Probes and scrapers come from outside the container's loopback.
    expect(imageEnv.EHW_METRICS_HOST ?? setting("EHW_METRICS_HOST")?.defaultText).toBe("0.0.0.0");
  });

  it("compose and the Deployment use the image's port", () => {
    expect(composeEnv(services.worker as ComposeService).EHW_METRICS_PORT ?? String(port)).toBe(String(port));
    expect(k8sEnv.EHW_METRICS_PORT ?? String(port)).toBe(String(port));
    const metrics = workerContainer.ports.find((p: { name: string }) => p.name === "metrics");
    expect(metrics?.containerPort).toBe(port);
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(port));
  });

  it("the port is the worker's default (until the worker reads it, the files set it explicitly)", () => {
    const composed = composeEnv(services.worker as ComposeService).EHW_METRICS_PORT;
    if (metricsWired) {
      expect(setting("EHW_METRICS_PORT")?.defaultText).toBe(String(port));
    } else {
      expect([composed, k8sEnv.EHW_METRICS_PORT]).toEqual([String(port), String(port)]);
    }
  });

  it("readiness probes /readyz and liveness /healthz on the metrics port", () => {
    const { readinessProbe, livenessProbe } = workerContainer;
    expect(readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(livenessProbe.httpGet).toEqual({ path: "/healthz", port: "metrics" });
  });

  it("the emulator service is checked on its admin /health, not the worker's /healthz", () => {
    const test = services.eventhubs?.healthcheck?.test;
    expect(JSON.stringify(test)).toContain("/health'");
    const adminPort = /127\.0\.0\.1:(\d+)\/health/.exec(JSON.stringify(test))?.[1];
    expect(Number(adminPort)).toBe(5380);
  });
});

describe("shutdown deadlines", () => {
  it("compose gives a worker longer to stop than its drain deadline", () => {
    const worker = services.worker as ComposeService;
    const drainMs = Number(composeEnv(worker).EHW_DRAIN_TIMEOUT_MS ?? SETTINGS.drainTimeoutMs.defaultText);
    expect(composeDurationMs(worker.stop_grace_period ?? "10s")).toBeGreaterThan(drainMs);
  });

  it("Kubernetes gives a pod at least 10 s more than the drain deadline", () => {
    const drainMs = Number(k8sEnv.EHW_DRAIN_TIMEOUT_MS ?? SETTINGS.drainTimeoutMs.defaultText);
    const graceMs = (deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    expect(graceMs).toBeGreaterThanOrEqual(drainMs + 10_000);
  });
});

describe("the hub, the fleet and KEDA agree", () => {
  const composeWorkerEnv = composeEnv(services.worker as ComposeService);
  const hubArgs = composeCommand(services.eventhubs as ComposeService);
  const hub = compileHubSpec(parseHubFlag(hubArgs[hubArgs.indexOf("--hub") + 1] ?? ""));

  it("compose workers, producer and both emulators use the same hub", () => {
    expect(composeWorkerEnv.EHW_EVENTHUB_NAME).toBe(hub.name);
    expect(composeEnv(services.producer as ComposeService).EHW_EVENTHUB_NAME).toBe(hub.name);
    const msHubs = parseConfigFile(readRepoFile("docker/ms-emulator/Config.json"), "Config.json").hubs;
    expect((msHubs as unknown[]).map((h) => compileHubSpec(h as never))).toEqual([hub]);
  });

  it("the compose fleet has no more replicas than partitions", () => {
    const replicas = services.worker?.deploy?.replicas ?? 1;
    expect(replicas).toBeLessThanOrEqual(hub.partitionCount);
  });

  it("KEDA scales between 1 and the partition count", () => {
    const partitions = Number(scaledObject.metadata.annotations?.["eventhub-worker/partition-count"]);
    expect(Number.isInteger(partitions) && partitions > 0).toBe(true);
    expect(scaledObject.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaledObject.spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
    expect(scaledObject.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
  });

  it("KEDA's blobMetadata checkpoint path is the blob the worker writes", () => {
    const trigger = scaledObject.spec.triggers[0];
    expect(trigger.type).toBe("azure-eventhub");
    const meta = trigger.metadata;
    expect(meta.checkpointStrategy).toBe("blobMetadata");
    expect(meta.blobContainer).toBe(k8sEnv.EHW_CONTAINER_NAME);
    const consumerGroup = k8sEnv.EHW_CONSUMER_GROUP ?? SETTINGS.consumerGroup.defaultText ?? "$Default";
    expect(meta.consumerGroup.toLowerCase()).toBe(consumerGroup.toLowerCase());
    const input = {
      connectionString: k8sEnv[meta.connectionFromEnv] ?? "",
      eventHubName: k8sEnv[meta.eventHubNameFromEnv] ?? "",
      consumerGroup: meta.consumerGroup,
    };
    const endpoint = parseConnectionStringParts(input.connectionString).get("endpoint") ?? "";
    const ourPrefix = checkpointBlobPrefixes({
      fullyQualifiedNamespace: new URL(endpoint).host,
      eventHubName: k8sEnv.EHW_EVENTHUB_NAME ?? "",
      consumerGroup,
    }).checkpoint;
    for (const partitionId of ["0", "7"]) {
      expect(kedaBlobMetadataPath({ ...input, partitionId })).toBe(`${ourPrefix}${partitionId}`);
    }
  });

  it("the KEDA path model notices a mixed-case hub name", () => {
    const path = kedaBlobMetadataPath({
      connectionString: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b",
      eventHubName: "Orders",
      consumerGroup: "$Default",
      partitionId: "0",
    });
    const ours = checkpointBlobPrefixes({
      fullyQualifiedNamespace: "ns.servicebus.windows.net",
      eventHubName: "Orders",
      consumerGroup: "$Default",
    });
    expect(path).not.toBe(`${ours.checkpoint}0`);
  });
});

describe("Kubernetes objects", () => {
  it("the ConfigMap's config loads its handler modules with plain node and routes by type", async () => {
    const config = only(manifests, "ConfigMap", "eventhub-worker-config").data?.["worker.config.json"] ?? "";
    const handlers = only(manifests, "ConfigMap", "eventhub-worker-handlers").data ?? {};
    // The two mounts, relocated under a temporary directory.
    const dir = mkdtempSync(join(tmpdir(), "ehw-k8s-handlers-"));
    try {
      mkdirSync(join(dir, "config"));
      mkdirSync(join(dir, "handlers"));
      writeFileSync(
        join(dir, "config", "worker.config.json"),
        config.replaceAll('"/handlers/', `"${dir}/handlers/`),
      );
      for (const [file, text] of Object.entries(handlers)) writeFileSync(join(dir, "handlers", file), text);
      const env = { ...imageEnv, ...k8sEnv, EHW_CONFIG: join(dir, "config", "worker.config.json") };
      const compiled = compileWorkerConfig(readRawWorkerOptions([], env, "/app").raw, { baseDir: "/app" });
      const registry = await loadHandlerRegistry(compiled.handlers, {
        logger: silentLogger(),
        workerId: "test",
        baseDir: join(dir, "config"),
      });
      try {
        const order = { body: { orderId: "o-1", total: 5 }, properties: { type: "order" } };
        expect(registry.route(order as never)).toBe(registry.pipelines.get("orders"));
      } finally {
        await registry.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kustomization lists every manifest but the Secret template", () => {
    const kustomization = manifests.find((m) => m.object.kind === "Kustomization")?.object as unknown as {
      resources: string[];
    };
    const files = new Set(manifests.map((m) => m.file));
    files.delete("kustomization.yaml");
    files.delete("secret.example.yaml");
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
  });

  it("the pod runs as the image's non-root user with a read-only root file system", () => {
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const user = dockerfile.findLast((i) => i.keyword === "USER")?.args;
    expect(user).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    expect(workerContainer.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(workerContainer.resources.requests).toBeDefined();
    expect(workerContainer.resources.limits).toBeDefined();
  });

  it("the config and handler mounts are where EHW_CONFIG and the config's modules point", () => {
    const mounts = new Map<string, string>(
      workerContainer.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]),
    );
    expect(mounts.has(k8sEnv.EHW_CONFIG?.replace(/\/[^/]+$/, "") ?? "")).toBe(true);
    const config = JSON.parse(
      only(manifests, "ConfigMap", "eventhub-worker-config").data?.["worker.config.json"] ?? "{}",
    ) as { handlers?: Record<string, { module?: string }> };
    const handlerFiles = Object.keys(only(manifests, "ConfigMap", "eventhub-worker-handlers").data ?? {});
    for (const handler of Object.values(config.handlers ?? {})) {
      if (handler.module === undefined) continue;
      expect(handler.module).toMatch(/\.m?js$/);
      const dir = handler.module.replace(/\/[^/]+$/, "");
      expect(mounts.has(dir), handler.module).toBe(true);
      expect(handlerFiles).toContain(handler.module.slice(dir.length + 1));
    }
  });
});

/**
 * The blob KEDA's azure-eventhub scaler reads with `checkpointStrategy: blobMetadata` (KEDA
 * 2.x, pkg/scalers/azure/azure_eventhub_checkpoint.go): the namespace host from the connection
 * string's Endpoint and the hub name exactly as written, only the consumer group lower-cased.
 */
function kedaBlobMetadataPath(input: {
  connectionString: string;
  eventHubName: string;
  consumerGroup: string;
  partitionId: string;
}): string {
  const parts = parseConnectionStringParts(input.connectionString);
  const namespace = (parts.get("endpoint") ?? "").replace(/^sb:\/\//, "").replace(/\/$/, "");
  const hub = parts.get("entitypath") ?? input.eventHubName;
  return `${namespace}/${hub}/${input.consumerGroup.toLowerCase()}/checkpoint/${input.partitionId}`;
}
