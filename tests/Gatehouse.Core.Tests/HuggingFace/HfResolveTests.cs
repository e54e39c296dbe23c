using System.Text;
using Gatehouse.HuggingFace;

namespace Gatehouse.Core.Tests.HuggingFace;

public class HfResolveTests
{
    [Fact]
    public void Resolve_urls_parse_revision_and_path()
    {
        Assert.Equal(new HfRoute(HfAction.Resolve, "models", "ns/name", "main", "config.json"),
            HfRequestPath.Parse("ns/name/resolve/main/config.json").Route);
        Assert.Equal(new HfRoute(HfAction.Resolve, "datasets", "ns/name", "refs/pr/1", "data/train.csv"),
            HfRequestPath.Parse("datasets/ns/name/resolve/refs%2Fpr%2F1/data/train.csv").Route);
        Assert.Equal(new HfRoute(HfAction.Resolve, "models", "ns/name", "refs/pr/1", "a b/c.bin"),
            HfRequestPath.Parse("ns/name/resolve/refs/pr/1/a%20b/c.bin").Route);
    }

    [Theory]
    [InlineData("ns/name/resolve")]
    [InlineData("ns/name/resolve/main")]
    [InlineData("ns/name/resolve/main/")]
    [InlineData("ns/name/resolve/main/%2e%2e/secret")]
    [InlineData("ns/name/resolve/main/a%5Cb")]
    [InlineData("ns/name/resolve/ma..in/x")]
    [InlineData("datasets/ns/name/resolve/main/%252e%252e/x")]
    public void Bad_resolve_urls_are_rejected(string raw)
    {
        var result = HfRequestPath.Parse(raw);
        Assert.Null(result.Route);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public void Git_blob_sha1_matches_git_hash_object()
    {
        // printf 'hello\n' | git hash-object --stdin
        Assert.Equal("ce013625030ba8dba906f756967f9e9ca394464a", HfFileDigests.GitBlobSha1(Encoding.ASCII.GetBytes("hello\n")));
        // git's empty blob
        Assert.Equal("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", HfFileDigests.GitBlobSha1([]));
    }

    [Fact]
    public void Digests_are_read_from_etag_headers()
    {
        var sha256 = new string('a', 64);
        Assert.Equal(sha256, HfFileDigests.Sha256($"\"{sha256.ToUpperInvariant()}\""));
        Assert.Equal(sha256, HfFileDigests.Sha256($"W/\"{sha256}\""));
        Assert.Null(HfFileDigests.Sha256("\"abc\""));
        Assert.Null(HfFileDigests.Sha256(null));
        Assert.Equal(new string('0', 40), HfFileDigests.Sha1($"\"{new string('0', 40)}\""));
        Assert.Null(HfFileDigests.Sha1($"\"{new string('g', 40)}\""));
        Assert.Null(HfFileDigests.Sha1(sha256));
    }

    [Fact]
    public void Reference_keys_escape_what_tables_forbid()
    {
        Assert.Equal("hf:ns%2Fname", HfFileDigests.ReferencePartition("models", "ns/name"));
        Assert.Equal("hf:datasets%2Fns%2Fname", HfFileDigests.ReferencePartition("datasets", "ns/name"));
        Assert.Equal("c0ffee%2Fdata%2Fa%23b%3Fc%25d", HfFileDigests.ReferenceRowKey("c0ffee", "data/a#b?c%d"));
        Assert.NotEqual(HfFileDigests.EscapeKey("a/b"), HfFileDigests.EscapeKey("a%2Fb"));
    }

    [Fact]
    public void Upstream_resolve_paths_encode_the_revision_as_one_segment()
    {
        Assert.Equal("ns/name/resolve/refs%2Fpr%2F1/data/a%20b.bin", HfFileDigests.ResolvePath("models", "ns/name", "refs/pr/1", "data/a b.bin"));
        Assert.Equal("datasets/ns/name/resolve/main/x.csv", HfFileDigests.ResolvePath("datasets", "ns/name", "main", "x.csv"));
    }
}
