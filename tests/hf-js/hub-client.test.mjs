// The real @huggingface/hub (pinned in package.json) against a running Gatehouse: listing, download info, downloads
// (byte-identical to tests/fixtures/hf), the cache-dir and snapshot downloads, and the refusal of the malicious pickle
// with Gatehouse's reason in the library's own error. Run by tests/Gatehouse.EndToEnd.Tests/HuggingFaceJsClientTests.cs:
//   GATEHOUSE_HF_ENDPOINT=http://127.0.0.1:<port>/hf GATEHOUSE_HF_TOKEN=ght_… [GATEHOUSE_HF_FIXTURES=tests/fixtures/hf] node --test
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  downloadFile,
  downloadFileToCacheDir,
  fileDownloadInfo,
  HubApiError,
  listFiles,
  snapshotDownload,
} from "@huggingface/hub";

const hubUrl = required("GATEHOUSE_HF_ENDPOINT").replace(/\/+$/, "");
const token = required("GATEHOUSE_HF_TOKEN");
const fixtures = process.env.GATEHOUSE_HF_FIXTURES || join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "hf");

const Model = { type: "model", name: "gatehouse-demo/tiny-model" };
const Dataset = { type: "dataset", name: "gatehouse-demo/tiny-dataset" };
// The malicious pickle of the demo model (INST builtins.exec); Gatehouse refuses it with the reason below.
const Refused = "evil.bin";
const RefusalText = ["Gatehouse refused evil.bin", "pickle.dangerous-global", "builtins.exec"];

// @huggingface/hub refuses an `accessToken` that does not start with "hf_" (TypeError, before any request), so its users
// put "hf_" in front of their Gatehouse token; Gatehouse drops that prefix (RequestCredentials). This is the documented
// way to use the library with Gatehouse: accessToken = "hf_" + <entitlement token>.
const client = { hubUrl, accessToken: `hf_${token}` };

const manifest = JSON.parse(await readFile(join(fixtures, "repos.json"), "utf8"));

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (see the top of ${fileURLToPath(import.meta.url)})`);
  }
  return value;
}

/** The fixture's files at the head of `main`, with their exact bytes and sha256. */
async function mainFiles(repo) {
  const entry = manifest.repos.find((r) => r.type === repo.type && r.id === repo.name);
  const commit = entry.refs.branches.main;
  const files = entry.commits.find((c) => c.id === commit).files;
  return {
    commit,
    files: await Promise.all(
      files.map(async (file) => {
        const bytes = await readFile(join(fixtures, "objects", file.sha1));
        return { ...file, bytes, sha256: sha256(bytes) };
      }),
    ),
  };
}

function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Gatehouse answers 503 + Retry-After while a cold file is being scanned, and @huggingface/hub 2.17.5 does not retry
 * (fileDownloadInfo and its download Blob throw a HubApiError at once). So the test retries the whole call on a 503,
 * at most 60 times, 1 s apart; any other outcome is returned or thrown as it is.
 */
async function untilScanned(what, call) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof HubApiError && error.statusCode === 503) || attempt >= 60) {
        throw error;
      }
      console.log(`${what}: 503 while Gatehouse scans (${error.message}); retrying in 1 s`);
      await sleep(1000);
    }
  }
}

/** Asserts that the promise fails with the library's HubApiError carrying Gatehouse's 403 and refusal reason. */
async function assertRefused(promise) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof HubApiError, `expected a HubApiError, got ${error?.stack ?? error}`);
    assert.equal(error.statusCode, 403, error.message);
    for (const text of RefusalText) {
      assert.ok(error.message.includes(text), `the error message does not contain "${text}": ${error.message}`);
    }
    console.log(`refused as expected: ${error.message}`);
    return true;
  });
}

describe("listFiles (recursive tree)", () => {
  for (const repo of [Model, Dataset]) {
    test(`${repo.type} ${repo.name}: every file of main with its size, oid, lfs and last commit, and no xetHash`, async () => {
      const { commit, files } = await mainFiles(repo);
      const entries = [];
      for await (const entry of listFiles({ ...client, repo, recursive: true, expand: true })) {
        entries.push(entry);
      }
      const listed = entries.filter((e) => e.type === "file");
      assert.deepEqual(listed.map((e) => e.path).sort(), files.map((f) => f.path).sort());
      for (const file of files) {
        const entry = listed.find((e) => e.path === file.path);
        assert.equal(entry.size, file.size, file.path);
        assert.equal(entry.oid, file.oid, file.path);
        assert.deepEqual(entry.lfs, file.lfs, file.path);
        assert.equal(entry.lastCommit?.id, commit, file.path);
      }
      for (const entry of entries) {
        assert.ok(!("xetHash" in entry), `${entry.path} is listed with a xetHash`);
      }
      for (const folder of new Set(files.map((f) => dirname(f.path)).filter((d) => d !== "."))) {
        assert.ok(entries.some((e) => e.type === "directory" && e.path === folder), `no directory entry for ${folder}`);
      }
    });
  }
});

describe("fileDownloadInfo (GET with Range: bytes=0-0 and the Xet Accept header)", () => {
  for (const repo of [Model, Dataset]) {
    test(`${repo.type} ${repo.name}: size and etag of every safe file, no Xet`, async () => {
      const { files } = await mainFiles(repo);
      for (const file of files.filter((f) => f.path !== Refused)) {
        const info = await untilScanned(file.path, () => fileDownloadInfo({ ...client, repo, path: file.path }));
        assert.ok(info, `${file.path}: fileDownloadInfo returned null (404 EntryNotFound)`);
        assert.equal(info.size, file.size, file.path);
        // LFS files are known by their sha256 (X-Linked-Etag), regular files by their git blob sha1 (ETag).
        assert.equal(info.etag, `"${file.lfs ? file.lfs.oid : file.sha1}"`, file.path);
        assert.equal(info.xet, undefined, file.path);
        assert.ok(info.url.startsWith(`${hubUrl}/`), `${file.path}: download url ${info.url} is not on Gatehouse`);
      }
    });
  }

  test("a file that does not exist is null (404 EntryNotFound), as on the Hub", async () => {
    assert.equal(await fileDownloadInfo({ ...client, repo: Model, path: "no-such-file.bin" }), null);
  });

  test("the malicious pickle is refused with Gatehouse's reason", async () => {
    await assertRefused(untilScanned(Refused, () => fileDownloadInfo({ ...client, repo: Model, path: Refused })));
  });
});

describe("downloadFile", () => {
  for (const repo of [Model, Dataset]) {
    test(`${repo.type} ${repo.name}: every safe file byte-identical to the fixture`, async () => {
      const { files } = await mainFiles(repo);
      for (const file of files.filter((f) => f.path !== Refused)) {
        const bytes = await untilScanned(file.path, async () => {
          const blob = await downloadFile({ ...client, repo, path: file.path });
          assert.ok(blob, `${file.path}: downloadFile returned null (404 EntryNotFound)`);
          return Buffer.from(await blob.arrayBuffer());
        });
        assert.equal(bytes.length, file.size, file.path);
        assert.equal(sha256(bytes), file.sha256, file.path);
        if (file.lfs) {
          assert.equal(file.sha256, file.lfs.oid, `${file.path}: the fixture's bytes are not its LFS object`);
        }
      }
    });
  }

  test("a pull-request revision (refs/pr/1) serves that commit's config.json", async () => {
    const model = manifest.repos.find((r) => r.id === Model.name);
    const pr = model.commits.find((c) => c.id === model.refs.pulls["refs/pr/1"]);
    const file = pr.files.find((f) => f.path === "config.json");
    const expected = await readFile(join(fixtures, "objects", file.sha1));
    const bytes = await untilScanned("config.json@refs/pr/1", async () => {
      const blob = await downloadFile({ ...client, repo: Model, path: "config.json", revision: "refs/pr/1" });
      return Buffer.from(await blob.arrayBuffer());
    });
    assert.equal(sha256(bytes), sha256(expected));
  });

  test("the malicious pickle is refused with Gatehouse's reason", async () => {
    await assertRefused(
      untilScanned(Refused, async () => {
        const blob = await downloadFile({ ...client, repo: Model, path: Refused });
        return blob?.arrayBuffer();
      }),
    );
  });
});

describe("the cache directory (paths-info with expand, then download)", () => {
  let cacheDir;
  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), "gatehouse-hf-js-"));
  });
  after(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  test("downloadFileToCacheDir puts safe files under blobs/<etag> with a snapshots/<commit> link", async () => {
    const { commit, files } = await mainFiles(Model);
    for (const file of files.filter((f) => f.path === "config.json" || f.path === "model.safetensors")) {
      const pointer = await untilScanned(file.path, () => downloadFileToCacheDir({ ...client, repo: Model, path: file.path, cacheDir }));
      const repoFolder = join(cacheDir, "models--gatehouse-demo--tiny-model");
      assert.equal(pointer, join(repoFolder, "snapshots", commit, file.path));
      const blob = join(repoFolder, "blobs", file.lfs ? file.lfs.oid : file.oid);
      assert.equal(resolve(dirname(pointer), await readlink(pointer)), blob);
      assert.equal(sha256(await readFile(pointer)), file.sha256, file.path);
    }
  });

  test("downloadFileToCacheDir refuses the malicious pickle and leaves no blob", async () => {
    const evil = (await mainFiles(Model)).files.find((f) => f.path === Refused);
    await assertRefused(untilScanned(Refused, () => downloadFileToCacheDir({ ...client, repo: Model, path: Refused, cacheDir })));
    const blobs = join(cacheDir, "models--gatehouse-demo--tiny-model", "blobs");
    assert.ok(!existsSync(join(blobs, evil.lfs.oid)), "a blob of the refused file is in the cache");
    assert.ok(!existsSync(join(blobs, `${evil.lfs.oid}.incomplete`)), "a partial blob of the refused file is in the cache");
  });

  test("snapshotDownload of the dataset gets every file byte-identical and records refs/main", async () => {
    const { commit, files } = await mainFiles(Dataset);
    const folder = await untilScanned("dataset snapshot", () => snapshotDownload({ ...client, repo: Dataset, cacheDir }));
    const repoFolder = join(cacheDir, "datasets--gatehouse-demo--tiny-dataset");
    assert.equal(folder, join(repoFolder, "snapshots", commit));
    assert.equal(await readFile(join(repoFolder, "refs", "main"), "utf8"), commit);
    for (const file of files) {
      assert.equal(sha256(await readFile(join(folder, file.path))), file.sha256, file.path);
    }
  });

  test("snapshotDownload of the model fails on the malicious pickle with Gatehouse's reason", async () => {
    await assertRefused(untilScanned("model snapshot", () => snapshotDownload({ ...client, repo: Model, cacheDir })));
  });
});

describe("entitlement", () => {
  test("without a token the library's error carries Gatehouse's reason (the Hub's JSON error shape)", async () => {
    await assert.rejects(
      () => downloadFile({ hubUrl, repo: Model, path: "config.json" }),
      (error) => {
        assert.ok(error instanceof HubApiError, `expected a HubApiError, got ${error}`);
        assert.equal(error.statusCode, 401);
        assert.match(error.message, /Gatehouse needs an entitlement token/);
        return true;
      },
    );
  });

  test("a revoked or unknown token is refused with Gatehouse's reason", async () => {
    await assert.rejects(
      () => listFiles({ hubUrl, accessToken: "hf_ght_000000000000_" + "0".repeat(48), repo: Model }).next(),
      (error) => {
        assert.equal(error.statusCode, 401);
        assert.match(error.message, /The entitlement token (is unknown|[0-9a-f]{12} was revoked)/);
        return true;
      },
    );
  });
});
