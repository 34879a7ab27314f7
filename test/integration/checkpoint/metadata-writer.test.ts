/**
 * The checkpoint update without the storage SDK's pipeline, against the real Azurite (which checks
 * Shared Key signatures and SAS tokens): what it writes is what the SDK reads, its condition holds,
 * and its failures carry the status and service error code the callers classify by.
 */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  type ContainerClient,
  generateAccountSASQueryParameters,
  RestError,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { isConditionConflict } from "../../../src/checkpoint/blob-records.js";
import {
  createMetadataWriter,
  type MetadataWriter,
  metadataAuthFor,
} from "../../../src/checkpoint/metadata-writer.js";
import { isUnreachable, STORAGE_UNREACHABLE_CODES } from "../../../src/common/connectivity.js";
import { freePort } from "../../../src/local/index.js";
import { freshContainer, testStack } from "../../helpers/stack.js";

const writers: MetadataWriter[] = [];
afterEach(() => {
  for (const writer of writers.splice(0)) writer.close();
});

function writerFor(connectionString: string): MetadataWriter {
  const auth = metadataAuthFor(connectionString);
  if (auth === undefined) throw new Error("no authorisation in the connection string");
  const writer = createMetadataWriter(auth);
  writers.push(writer);
  return writer;
}

async function checkpointBlob(containerClient: ContainerClient) {
  const blob = containerClient.getBlockBlobClient("ns/hub/$default/checkpoint/0");
  const created = await blob.upload("", 0, { metadata: { sequencenumber: "1", offset: "10" } });
  return { blob, etag: created.etag ?? "" };
}

function part(connectionString: string, key: string): string {
  const found = connectionString.split(";").find((p) => p.toLowerCase().startsWith(`${key.toLowerCase()}=`));
  if (found === undefined) throw new Error(`no ${key} in the connection string`);
  return found.slice(key.length + 1);
}

describe("MetadataWriter against Azurite", () => {
  it("with Shared Key: replaces the metadata under the ETag, and loses to a newer ETag", async () => {
    const { containerClient } = await freshContainer("meta");
    const { blob, etag } = await checkpointBlob(containerClient);
    const writer = writerFor(testStack().azurite.connectionString);
    const next = await writer.setMetadata(blob.url, { sequencenumber: "7", offset: "70" }, etag);
    expect(next).toEqual(expect.any(String));
    expect(next).not.toBe(etag);
    const props = await blob.getProperties();
    expect(props.metadata).toEqual({ sequencenumber: "7", offset: "70" });
    expect(props.etag).toBe(next);
    // The old ETag no longer matches: the condition fails, nothing changes.
    expect(await writer.setMetadata(blob.url, { sequencenumber: "8", offset: "80" }, etag)).toBeUndefined();
    expect((await blob.getProperties()).metadata).toEqual({ sequencenumber: "7", offset: "70" });
  });

  it("with a SAS connection string: the same write", async () => {
    const { containerClient } = await freshContainer("meta");
    const { blob, etag } = await checkpointBlob(containerClient);
    const { connectionString } = testStack().azurite;
    const credential = new StorageSharedKeyCredential(
      part(connectionString, "AccountName"),
      part(connectionString, "AccountKey"),
    );
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3_600_000),
        permissions: AccountSASPermissions.parse("rw"),
        resourceTypes: AccountSASResourceTypes.parse("o").toString(),
        services: AccountSASServices.parse("b").toString(),
      },
      credential,
    ).toString();
    const sasConnectionString = `BlobEndpoint=${part(connectionString, "BlobEndpoint")};SharedAccessSignature=${sas}`;
    expect(metadataAuthFor(sasConnectionString)?.kind).toBe("sas");
    const next = await writerFor(sasConnectionString).setMetadata(
      blob.url,
      { sequencenumber: "9", offset: "90" },
      etag,
    );
    expect(next).toEqual(expect.any(String));
    expect((await blob.getProperties()).metadata).toEqual({ sequencenumber: "9", offset: "90" });
  });

  it("fails with the service's status and error code: a wrong key, a missing container", async () => {
    const { containerClient } = await freshContainer("meta");
    const { blob, etag } = await checkpointBlob(containerClient);
    const { connectionString } = testStack().azurite;
    const wrongKey = connectionString.replace(
      part(connectionString, "AccountKey"),
      Buffer.alloc(64, 7).toString("base64"),
    );
    const refused = await writerFor(wrongKey)
      .setMetadata(blob.url, { sequencenumber: "2", offset: "20" }, etag)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RestError);
    expect(refused).toMatchObject({ statusCode: 403 });
    expect(isConditionConflict(refused)).toBe(false);
    expect(refused).toMatchObject({
      code: "AuthorizationFailure",
      details: { errorCode: "AuthorizationFailure" },
    });
    // No blob under the ETag: the condition fails, as it does for the SDK's setMetadata.
    const missing = containerClient.getBlockBlobClient("ns/hub/$default/checkpoint/9");
    expect(
      await writerFor(connectionString).setMetadata(missing.url, { sequencenumber: "2", offset: "20" }, etag),
    ).toBeUndefined();
    const gone = await writerFor(connectionString)
      .setMetadata(
        `${containerClient.url}-gone/ns/hub/$default/checkpoint/0`,
        { sequencenumber: "2", offset: "20" },
        etag,
      )
      .catch((err: unknown) => err);
    expect(gone).toMatchObject({
      statusCode: 404,
      code: "ContainerNotFound",
      details: { errorCode: "ContainerNotFound" },
    });
    expect((gone as Error).message).toContain("The specified container does not exist");
    expect((await blob.getProperties()).metadata).toEqual({ sequencenumber: "1", offset: "10" });
  });

  it("fails with the network error when storage is unreachable", async () => {
    const port = await freePort();
    const writer = writerFor(testStack().azurite.connectionString);
    const error = await writer
      .setMetadata(
        `http://127.0.0.1:${port}/devstoreaccount1/c/b`,
        { sequencenumber: "1", offset: "1" },
        '"0x1"',
      )
      .catch((err: unknown) => err);
    expect(isUnreachable(error, STORAGE_UNREACHABLE_CODES)).toBe(true);
  });
});
