"""The real huggingface_hub (whichever version is first on PYTHONPATH) against a running Gatehouse.

model_info, list_repo_files, hf_hub_download of every safe file (byte-identical to tests/fixtures/hf), the refusal of the
malicious pickle with Gatehouse's reason in the library's own error, snapshot_download of a model and a dataset, and
revision pinning (tag, commit, pull request). Run by tests/Gatehouse.EndToEnd.Tests/HuggingFacePythonClientTests.cs:

    HF_ENDPOINT=http://127.0.0.1:<port>/hf HF_TOKEN=ght_… GATEHOUSE_HF_FIXTURES=tests/fixtures/hf \
        PYTHONPATH=<clients>/filelock:<clients>/huggingface_hub-1.x /usr/bin/python3 -m unittest -v test_hub_client

No HF_HUB_*_TIMEOUT variable is set: the clients run with their stock defaults.
"""

import hashlib
import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

import huggingface_hub
from huggingface_hub import HfApi, hf_hub_download, list_repo_files, snapshot_download
from huggingface_hub.errors import GatedRepoError

FIXTURES = Path(os.environ["GATEHOUSE_HF_FIXTURES"])
MODEL = "gatehouse-demo/tiny-model"
DATASET = "gatehouse-demo/tiny-dataset"
REFUSED = "evil.bin"
# Gatehouse's refusal as the library shows it: the file, the rule and what the scanner found.
REFUSAL_TEXT = ["Gatehouse refused evil.bin", "pickle.dangerous-global", "builtins.exec"]

MANIFEST = json.loads((FIXTURES / "repos.json").read_text(encoding="utf-8"))


def repo_manifest(repo_type, repo_id):
    return next(r for r in MANIFEST["repos"] if r["type"] == repo_type and r["id"] == repo_id)


def files_at(repo_type, repo_id, commit):
    repo = repo_manifest(repo_type, repo_id)
    return {f["path"]: f for f in next(c for c in repo["commits"] if c["id"] == commit)["files"]}


def fixture_bytes(file):
    return (FIXTURES / "objects" / file["sha1"]).read_bytes()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class HubClientTest(unittest.TestCase):
    def setUp(self):
        # A fresh cache per test: every download goes to Gatehouse.
        self.cache = tempfile.mkdtemp(prefix="gatehouse-hf-python-")
        self.addCleanup(shutil.rmtree, self.cache, ignore_errors=True)

    def assert_same_bytes(self, local_path, file):
        self.assertEqual(Path(local_path).read_bytes(), fixture_bytes(file), file["path"])

    def assert_refused(self, context):
        error = context.exception
        message = str(error)
        for text in REFUSAL_TEXT:
            self.assertIn(text, message)
        self.assertEqual(error.response.status_code, 403, message)
        self.assertEqual(error.response.headers.get("X-Error-Code"), "GatedRepo", message)
        print(f"\n  refused as expected ({type(error).__name__}): {message.splitlines()[-1][:160]}")


class Version(HubClientTest):
    def test_the_library_under_test_is_the_one_asked_for(self):
        expected = os.environ.get("GATEHOUSE_EXPECT_HUB_VERSION", "")
        self.assertTrue(huggingface_hub.__version__.startswith(expected), huggingface_hub.__version__)
        for name in os.environ:
            self.assertFalse(name.startswith("HF_HUB_") and name.endswith("_TIMEOUT"), f"{name} is set: the stock defaults are under test")


class RepositoryApi(HubClientTest):
    def test_model_info_gives_the_commit_of_main_and_every_file(self):
        repo = repo_manifest("model", MODEL)
        info = HfApi().model_info(MODEL)
        self.assertEqual(info.sha, repo["refs"]["branches"]["main"])
        self.assertEqual(sorted(s.rfilename for s in info.siblings), sorted(files_at("model", MODEL, info.sha)))

    def test_model_info_at_a_pull_request_gives_its_commit(self):
        repo = repo_manifest("model", MODEL)
        self.assertEqual(HfApi().model_info(MODEL, revision="refs/pr/1").sha, repo["refs"]["pulls"]["refs/pr/1"])

    def test_list_repo_files_lists_every_file_of_a_model_and_a_dataset(self):
        for repo_type, repo_id in (("model", MODEL), ("dataset", DATASET)):
            main = repo_manifest(repo_type, repo_id)["refs"]["branches"]["main"]
            listed = list_repo_files(repo_id, repo_type=repo_type)
            self.assertEqual(sorted(listed), sorted(files_at(repo_type, repo_id, main)), repo_id)


class Downloads(HubClientTest):
    def test_hf_hub_download_gets_every_safe_file_byte_identical(self):
        for repo_type, repo_id in (("model", MODEL), ("dataset", DATASET)):
            main = repo_manifest(repo_type, repo_id)["refs"]["branches"]["main"]
            for path, file in files_at(repo_type, repo_id, main).items():
                if path == REFUSED:
                    continue
                local = hf_hub_download(repo_id, path, repo_type=repo_type, cache_dir=self.cache)
                self.assertIn(f"/snapshots/{main}/", local)
                self.assert_same_bytes(local, file)

    def test_the_malicious_pickle_is_refused_with_gatehouses_reason_and_nothing_is_cached(self):
        with self.assertRaises(GatedRepoError) as refused:
            hf_hub_download(MODEL, REFUSED, cache_dir=self.cache)
        self.assert_refused(refused)
        evil = files_at("model", MODEL, repo_manifest("model", MODEL)["refs"]["branches"]["main"])[REFUSED]
        blobs = Path(self.cache) / "models--gatehouse-demo--tiny-model" / "blobs"
        self.assertEqual([p.name for p in blobs.glob(evil["lfs"]["oid"] + "*")], [], "a (partial) blob of the refused file is in the cache")


class Snapshots(HubClientTest):
    def test_snapshot_download_of_the_dataset_gets_every_file_and_records_main(self):
        main = repo_manifest("dataset", DATASET)["refs"]["branches"]["main"]
        folder = snapshot_download(DATASET, repo_type="dataset", cache_dir=self.cache)
        self.assertTrue(folder.endswith(f"/snapshots/{main}"), folder)
        self.assertEqual((Path(folder).parents[1] / "refs" / "main").read_text(), main)
        for path, file in files_at("dataset", DATASET, main).items():
            self.assert_same_bytes(Path(folder) / path, file)

    def test_snapshot_download_of_the_model_without_the_refused_file_gets_the_rest(self):
        main = repo_manifest("model", MODEL)["refs"]["branches"]["main"]
        folder = snapshot_download(MODEL, cache_dir=self.cache, ignore_patterns=[REFUSED])
        files = files_at("model", MODEL, main)
        self.assertEqual(sorted(p.name for p in Path(folder).iterdir()), sorted(p for p in files if p != REFUSED))
        for path, file in files.items():
            if path != REFUSED:
                self.assert_same_bytes(Path(folder) / path, file)

    def test_snapshot_download_of_the_whole_model_fails_on_the_malicious_pickle_with_gatehouses_reason(self):
        with self.assertRaises(GatedRepoError) as refused:
            snapshot_download(MODEL, cache_dir=self.cache)
        self.assert_refused(refused)


class Pinning(HubClientTest):
    def test_a_pull_request_revision_serves_that_commits_config(self):
        pr = repo_manifest("model", MODEL)["refs"]["pulls"]["refs/pr/1"]
        local = hf_hub_download(MODEL, "config.json", revision="refs/pr/1", cache_dir=self.cache)
        self.assertIn(f"/snapshots/{pr}/", local)
        self.assert_same_bytes(local, files_at("model", MODEL, pr)["config.json"])

    def test_a_tag_and_a_commit_serve_the_files_of_their_commit(self):
        repo = repo_manifest("model", MODEL)
        tagged = repo["refs"]["tags"]["v1.0"]
        pr = repo["refs"]["pulls"]["refs/pr/1"]
        for revision, commit in (("v1.0", tagged), (pr, pr)):
            local = hf_hub_download(MODEL, "config.json", revision=revision, cache_dir=self.cache)
            self.assertIn(f"/snapshots/{commit}/", local)
            self.assert_same_bytes(local, files_at("model", MODEL, commit)["config.json"])
        # The two commits differ in config.json: pinning is what chose the bytes.
        self.assertNotEqual(files_at("model", MODEL, tagged)["config.json"]["sha1"], files_at("model", MODEL, pr)["config.json"]["sha1"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
