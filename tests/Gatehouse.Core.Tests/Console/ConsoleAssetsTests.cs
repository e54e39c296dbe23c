using Gatehouse.WebConsole;

namespace Gatehouse.Core.Tests.WebConsole;

/// <summary>The console's embedded files: page paths answer the app's page, files answer themselves, nothing else matches.</summary>
public sealed class ConsoleAssetsTests
{
    private readonly ConsoleAssets _assets = new();

    [Fact]
    public void The_page_is_embedded_and_answers_every_page_path()
    {
        Assert.Contains(ConsoleAssets.IndexPath, _assets.Paths);
        foreach (var path in new[] { null, "", "/", "quarantine", "quarantine/" + new string('a', 64), "tokens/" })
        {
            var asset = _assets.Find(path);
            Assert.NotNull(asset);
            Assert.Equal(ConsoleAssets.IndexPath, asset.Path);
            Assert.Equal("text/html; charset=utf-8", asset.ContentType);
        }
    }

    [Fact]
    public void Every_embedded_file_is_found_under_its_own_path_with_a_known_media_type_and_a_stable_etag()
    {
        foreach (var path in _assets.Paths)
        {
            var asset = _assets.Find(path);
            Assert.NotNull(asset);
            Assert.Equal(path, asset.Path);
            Assert.DoesNotContain('\\', path);
            Assert.NotEqual("application/octet-stream", asset.ContentType);
            Assert.Equal(asset.ETag, new ConsoleAssets().Find(path)!.ETag);
        }
    }

    [Theory]
    [InlineData("no-such.js")]
    [InlineData("../Gatehouse.Core.dll")]
    [InlineData("..%2Fhost.json")]
    [InlineData("pages/missing.css")]
    public void A_file_that_is_not_embedded_is_not_found(string path) => Assert.Null(_assets.Find(path));
}
