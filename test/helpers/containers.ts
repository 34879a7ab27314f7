/**
 * The integration test environment in containers (`TEST_ENV=containers`): Azurite and an Event
 * Hubs emulator started with testcontainers instead of local processes, their ports mapped to the
 * host's loopback, described with the same shapes the local global setup provides.
 *
 * `TEST_HUB_IMAGE=ours` (default) builds this repository's Dockerfile and runs `ehw hub`;
 * `TEST_HUB_IMAGE=microsoft` runs Microsoft's Event Hubs emulator, which declares its hubs in
 * docker/ms-emulator/Config.json and has no admin endpoint for runtime hubs or faults.
 *
 * testcontainers publishes the mapped ports on every interface of the engine's host (it has no
 * option to bind them to loopback); the tests connect through 127.0.0.1 only.
 */
import { fileURLToPath } from "node:url";
import {
  GenericContainer,
  getContainerRuntimeClient,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { ProcessError } from "../../src/common/errors.js";
import { DEFAULT_KEY, DEFAULT_KEY_NAME } from "../../src/emulator/config.js";
import { azuriteConnectionString, emulatorArgs, LOCAL_HOST } from "../../src/local/index.js";
import type { ProvidedAzurite, ProvidedEmulator } from "./stack.js";

/** Which hub image the container environment runs. */
export type HubImage = "ours" | "microsoft";

/** Azurite image, the line the local tests use (npm azurite 3.35). */
export const AZURITE_IMAGE = "mcr.microsoft.com/azure-storage/azurite:3.35.0";
/** Microsoft's Event Hubs emulator image. */
export const MICROSOFT_HUB_IMAGE = "mcr.microsoft.com/azure-messaging/eventhubs-emulator:latest";
/** Tag of the image built from the repository's Dockerfile for the tests. */
export const OUR_TEST_IMAGE = "eventhub-worker:test";

/** Ports inside the containers. */
const AZURITE_BLOB_PORT = 10000;
const HUB_AMQP_PORT = 5672;
const OUR_ADMIN_PORT = 5380;
/** Microsoft's emulator answers GET /health here. */
const MICROSOFT_HEALTH_PORT = 5300;
/** The key Microsoft's emulator documents for its connection string. */
const MICROSOFT_KEY = "SAS_KEY_VALUE";
const MICROSOFT_KEY_NAME = "RootManageSharedAccessKey";

/** Longest wait for the Docker engine to answer before giving up. */
const ENGINE_TIMEOUT_MS = 15_000;
/** Longest wait for one container to become ready (a first image build or pull takes a while). */
const READY_TIMEOUT_MS = 300_000;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Reads `TEST_HUB_IMAGE`: `ours` (default) or `microsoft`. */
export function hubImageFrom(value: string | undefined): HubImage {
  if (value === undefined || value === "" || value === "ours") return "ours";
  if (value === "microsoft") return "microsoft";
  throw new ProcessError(`TEST_HUB_IMAGE must be "ours" or "microsoft", not "${value}"`);
}

/** Options of {@link startContainerStack}. */
export interface ContainerStackOptions {
  /** The hub to run. */
  readonly hubImage: HubImage;
  /** Whether Microsoft's emulator licence is accepted (`ACCEPT_EULA=Y`); required for `microsoft`. */
  readonly acceptEula: boolean;
}

/** Azurite and a hub in containers, described as the local global setup describes its processes. */
export interface ContainerStack {
  readonly azurite: ProvidedAzurite;
  readonly emulator: ProvidedEmulator;
  /** Stops every container (and the network) this stack started. */
  stop(): Promise<void>;
}

/**
 * Fails within {@link ENGINE_TIMEOUT_MS} when no Docker engine answers, with a message that says
 * what is missing, instead of letting container starts hang or fail obscurely.
 */
export async function assertDockerEngine(
  probe: () => Promise<unknown> = getContainerRuntimeClient,
  timeoutMs = ENGINE_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new ProcessError(`TEST_ENV=containers needs a Docker engine; none was found: ${cause}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Starts Azurite and the hub in containers; stops whatever started if a later part fails. */
export async function startContainerStack(options: ContainerStackOptions): Promise<ContainerStack> {
  await assertDockerEngine();
  if (options.hubImage === "microsoft" && !options.acceptEula) {
    throw new ProcessError(
      "TEST_HUB_IMAGE=microsoft runs Microsoft's Event Hubs emulator, which starts only with its licence accepted: set ACCEPT_EULA=Y",
    );
  }
  const started: Array<StartedTestContainer | StartedNetwork> = [];
  const stop = async () => {
    // Containers before the network they are attached to, last started first.
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    const azurite = await startAzuriteContainer();
    started.push(azurite);
    const azuritePort = azurite.getMappedPort(AZURITE_BLOB_PORT);
    const emulator =
      options.hubImage === "ours" ? await startOurHub(started) : await startMicrosoftHub(started);
    return {
      azurite: {
        pid: 0,
        port: azuritePort,
        connectionString: azuriteConnectionString(LOCAL_HOST, azuritePort),
      },
      emulator,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startAzuriteContainer(): Promise<StartedTestContainer> {
  return new GenericContainer(AZURITE_IMAGE)
    .withCommand([
      "azurite-blob",
      "--blobHost",
      "0.0.0.0",
      "--blobPort",
      String(AZURITE_BLOB_PORT),
      "--loose",
      "--skipApiVersionCheck",
      "--disableTelemetry",
    ])
    .withExposedPorts(AZURITE_BLOB_PORT)
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(READY_TIMEOUT_MS)
    .start();
}

/** Builds the repository's Dockerfile and runs `ehw hub` from it, as docker-compose.yml does. */
async function startOurHub(started: Array<StartedTestContainer | StartedNetwork>): Promise<ProvidedEmulator> {
  const image = await GenericContainer.fromDockerfile(ROOT).build(OUR_TEST_IMAGE, { deleteOnExit: false });
  const hub = await image
    .withCommand(emulatorArgs({ host: "0.0.0.0", port: HUB_AMQP_PORT, adminPort: OUR_ADMIN_PORT }))
    .withExposedPorts(HUB_AMQP_PORT, OUR_ADMIN_PORT)
    .withWaitStrategy(Wait.forHttp("/health", OUR_ADMIN_PORT).forStatusCode(200))
    .withStartupTimeout(READY_TIMEOUT_MS)
    .start();
  started.push(hub);
  return describeHub(hub, OUR_ADMIN_PORT, DEFAULT_KEY_NAME, DEFAULT_KEY);
}

/** Microsoft's emulator with an Azurite of its own (blob and table) on a private network. */
async function startMicrosoftHub(
  started: Array<StartedTestContainer | StartedNetwork>,
): Promise<ProvidedEmulator> {
  const network = await new Network().start();
  started.push(network);
  const storage = await new GenericContainer(AZURITE_IMAGE)
    .withNetwork(network)
    .withNetworkAliases("ms-storage")
    .withCommand([
      "azurite",
      "--blobHost",
      "0.0.0.0",
      "--queueHost",
      "0.0.0.0",
      "--tableHost",
      "0.0.0.0",
      "--loose",
      "--skipApiVersionCheck",
      "--disableTelemetry",
    ])
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(READY_TIMEOUT_MS)
    .start();
  started.push(storage);
  const hub = await new GenericContainer(MICROSOFT_HUB_IMAGE)
    .withNetwork(network)
    .withEnvironment({ BLOB_SERVER: "ms-storage", METADATA_SERVER: "ms-storage", ACCEPT_EULA: "Y" })
    .withCopyFilesToContainer([
      {
        source: `${ROOT}docker/ms-emulator/Config.json`,
        target: "/Eventhubs_Emulator/ConfigFiles/Config.json",
      },
    ])
    .withExposedPorts(HUB_AMQP_PORT, MICROSOFT_HEALTH_PORT)
    .withWaitStrategy(Wait.forHttp("/health", MICROSOFT_HEALTH_PORT).forStatusCode(200))
    .withStartupTimeout(READY_TIMEOUT_MS)
    .start();
  started.push(hub);
  return describeHub(hub, MICROSOFT_HEALTH_PORT, MICROSOFT_KEY_NAME, MICROSOFT_KEY);
}

/**
 * The provided emulator shape for a hub container. The namespace host is 127.0.0.1, as in the
 * local environment, so blob names match what the tests expect.
 */
function describeHub(
  hub: StartedTestContainer,
  adminContainerPort: number,
  keyName: string,
  key: string,
): ProvidedEmulator {
  const amqpPort = hub.getMappedPort(HUB_AMQP_PORT);
  const adminPort = hub.getMappedPort(adminContainerPort);
  return {
    pid: 0,
    amqpPort,
    adminPort,
    adminUrl: `http://${LOCAL_HOST}:${adminPort}`,
    connectionString: `Endpoint=sb://${LOCAL_HOST}:${amqpPort};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true`,
    keyName,
    key,
  };
}
