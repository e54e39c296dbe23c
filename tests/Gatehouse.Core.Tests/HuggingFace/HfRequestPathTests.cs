using Gatehouse.HuggingFace;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HfRequestPathTests
{
    [Theory]
    [InlineData("gatehouse-demo/tiny-model")]
    [InlineData("bert-base-uncased/x")]
    [InlineData("Org_1/model.v2")]
    [InlineData("a/b")]
    public void Ordinary_repo_ids_are_valid(string id) => Assert.True(HfRequestPath.IsValidRepoId(id));

    [Theory]
    [InlineData("")]
    [InlineData("single")]
    [InlineData("a/b/c")]
    [InlineData("-a/b")]
    [InlineData("a/.b")]
    [InlineData("a--b/c")]
    [InlineData("a/b..c")]
    [InlineData("../b")]
    [InlineData("a/b\n")]
    [InlineData("a b/c")]
    [InlineData("a\\b/c")]
    public void Hostile_or_malformed_repo_ids_are_invalid(string id) => Assert.False(HfRequestPath.IsValidRepoId(id));

    [Fact]
    public void A_repo_id_part_is_at_most_96_characters()
    {
        Assert.True(HfRequestPath.IsValidRepoId("a/" + new string('b', 96)));
        Assert.False(HfRequestPath.IsValidRepoId("a/" + new string('b', 97)));
    }

    [Theory]
    [InlineData("main")]
    [InlineData("v1.0")]
    [InlineData("refs/pr/1")]
    [InlineData("refs/heads/feature-x")]
    [InlineData("0123456789abcdef0123456789abcdef01234567")]
    public void Branches_tags_prs_and_commits_are_valid_revisions(string revision) => Assert.True(HfRequestPath.IsValidRevision(revision));

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("refs/../x")]
    [InlineData("a\\b")]
    [InlineData("main\n")]
    [InlineData("ma\0in")]
    [InlineData("/main")]
    [InlineData("ma in")]
    [InlineData("main:x")]
    [InlineData("main?x")]
    [InlineData("main*")]
    [InlineData("main~1")]
    [InlineData("main^2")]
    [InlineData("a[b")]
    [InlineData("main@{1}")]
    [InlineData("@")]
    [InlineData("main.")]
    [InlineData("main.lock")]
    [InlineData("refs/.hidden/x")]
    [InlineData("refs//x")]
    [InlineData("main/")]
    public void Hostile_revisions_and_names_git_refuses_are_invalid(string revision) => Assert.False(HfRequestPath.IsValidRevision(revision));

    [Theory]
    [InlineData("/tiny-model/resolve/main/config.json")]
    [InlineData("datasets//tiny-dataset/resolve/main/x.csv")]
    public void A_resolve_url_with_an_empty_namespace_is_a_bad_repository_id(string raw)
    {
        var result = HfRequestPath.Parse(raw);
        Assert.Null(result.Route);
        Assert.Contains("is not a valid Hugging Face repository id", result.Error);
    }

    [Fact]
    public void A_revision_is_at_most_256_characters()
    {
        Assert.True(HfRequestPath.IsValidRevision(new string('a', 256)));
        Assert.False(HfRequestPath.IsValidRevision(new string('a', 257)));
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("data/train.csv")]
    [InlineData("a/b/c..d.txt")]
    public void Relative_paths_are_valid(string path) => Assert.True(HfRequestPath.IsValidPath(path));

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a/..")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    [InlineData("a\0b")]
    [InlineData("%2e%2e/x")]
    [InlineData("a/%2E%2E/b")]
    [InlineData("%2fetc")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    public void Traversal_and_odd_paths_are_invalid(string path) => Assert.False(HfRequestPath.IsValidPath(path));

    [Fact]
    public void Model_and_dataset_info_parse_with_and_without_revision()
    {
        Assert.Equal(new HfRoute(HfAction.Info, "models", "ns/name", null, ""), HfRequestPath.Parse("api/models/ns/name").Route);
        Assert.Equal(new HfRoute(HfAction.Info, "datasets", "ns/name", "v1.0", ""), HfRequestPath.Parse("api/datasets/ns/name/revision/v1.0").Route);
    }

    [Theory]
    [InlineData("api/models/ns/name/revision/refs%2Fpr%2F1")]
    [InlineData("api/models/ns/name/revision/refs/pr/1")]
    public void An_encoded_or_raw_pr_revision_is_one_revision(string raw) =>
        Assert.Equal("refs/pr/1", HfRequestPath.Parse(raw).Route?.Revision);

    [Theory]
    [InlineData("api/models/ns/name/tree/main", "main", "")]
    [InlineData("api/models/ns/name/tree/main/data", "main", "data")]
    [InlineData("api/models/ns/name/tree/main/data%2Fsub", "main", "data/sub")]
    [InlineData("api/models/ns/name/tree/refs%2Fpr%2F1/data/sub", "refs/pr/1", "data/sub")]
    [InlineData("api/models/ns/name/tree/refs/pr/1/data", "refs/pr/1", "data")]
    public void Tree_paths_split_revision_and_folder(string raw, string revision, string path)
    {
        var route = HfRequestPath.Parse(raw).Route;
        Assert.Equal(HfAction.Tree, route?.Action);
        Assert.Equal(revision, route?.Revision);
        Assert.Equal(path, route?.Path);
    }

    [Theory]
    [InlineData("api/models/a--b/c")]
    [InlineData("api/models/ns/name/revision/..")]
    [InlineData("api/models/ns/name/revision/a%5Cb")]
    [InlineData("api/models/ns/name/tree/main/%2E%2E/x")]
    [InlineData("api/models/ns/name/tree/main/%252e%252e/x")]
    [InlineData("api/models/ns/name/tree/main/a%00b")]
    [InlineData("api/models/ns/name/tree/main/%2Fetc")]
    [InlineData("api/datasets/ns/na%0Ame")]
    [InlineData("ns/na..me/resolve/main/x")]
    [InlineData("api/models/ns/name/paths-info/" + "%0A")]
    public void Hostile_inputs_are_rejected(string raw)
    {
        var result = HfRequestPath.Parse(raw);
        Assert.Null(result.Route);
        Assert.NotNull(result.Error);
    }

    [Theory]
    [InlineData("api/spaces/ns/name", HfAction.Spaces)]
    [InlineData("spaces/ns/name/resolve/main/app.py", HfAction.Spaces)]
    [InlineData("ns/name/resolve/main/config.json", HfAction.Resolve)]
    [InlineData("datasets/ns/name/resolve/main/data/train.csv", HfAction.Resolve)]
    [InlineData("api/models/ns/name/xet-read-token/main", HfAction.NotServed)]
    [InlineData("api/whoami-v2", HfAction.NotServed)]
    [InlineData("api/models", HfAction.NotServed)]
    [InlineData("", HfAction.NotServed)]
    public void Other_routes_are_classified(string raw, HfAction action) => Assert.Equal(action, HfRequestPath.Parse(raw).Route?.Action);

    [Fact]
    public void Upstream_paths_encode_the_revision_as_one_segment_and_keep_folder_slashes()
    {
        Assert.Equal("api/models/ns/name/tree/refs%2Fpr%2F1/data/a%20b",
            HuggingFaceEndpoint.UpstreamPath(new HfRoute(HfAction.Tree, "models", "ns/name", "refs/pr/1", "data/a b")));
        Assert.Equal("api/datasets/ns/name/paths-info/main",
            HuggingFaceEndpoint.UpstreamPath(new HfRoute(HfAction.PathsInfo, "datasets", "ns/name", "main", "")));
        Assert.Equal("api/models/ns/name", HuggingFaceEndpoint.UpstreamPath(new HfRoute(HfAction.Info, "models", "ns/name", null, "")));
    }
}
