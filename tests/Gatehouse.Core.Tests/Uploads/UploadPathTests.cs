using Gatehouse.Scans.Archives;
using Gatehouse.Uploads;
using Gatehouse.Pipeline;

namespace Gatehouse.Core.Tests.Uploads;

/// <summary>How a blob name in <c>uploads</c> becomes a subject, a reference key and a decision context.</summary>
public sealed class UploadPathTests
{
    [Fact]
    public void A_model_file_belongs_to_its_org_and_name_and_keeps_its_path_inside()
    {
        var path = UploadPath.Parse("models/acme/sentiment-v2/onnx/model.onnx");

        Assert.NotNull(path);
        Assert.Equal(UploadArea.Model, path.Area);
        Assert.Equal("models/acme/sentiment-v2", path.Subject);
        Assert.Equal("onnx/model.onnx", path.RelativePath);
        Assert.Equal("model.onnx", path.FileName);
        Assert.Equal(new ReferenceKey("uploads:models%2Facme%2Fsentiment-v2", "onnx%2Fmodel.onnx"), path.Key);
    }

    [Fact]
    public void A_distribution_belongs_to_its_normalised_project()
    {
        var path = UploadPath.Parse("pypi/Acme_Tools/acme_tools-1.2.0-py3-none-any.whl");

        Assert.NotNull(path);
        Assert.Equal(UploadArea.Package, path.Area);
        Assert.Equal("pypi/acme-tools", path.Subject);
        Assert.Equal("acme_tools-1.2.0-py3-none-any.whl", path.RelativePath);
    }

    [Theory]
    [InlineData("notes/readme.bin", "notes", "readme.bin")]
    [InlineData("loose.pkl", "", "loose.pkl")]
    [InlineData("models/acme/only-two", "models/acme", "only-two")]
    [InlineData("pypi/a/b/c.whl", "pypi/a/b", "c.whl")]
    public void Other_names_are_judged_under_their_folder(string name, string subject, string relative)
    {
        var path = UploadPath.Parse(name);

        Assert.NotNull(path);
        Assert.Equal(UploadArea.Other, path.Area);
        Assert.Equal((subject, relative), (path.Subject, path.RelativePath));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("models//acme/x.bin")]
    [InlineData("models/acme/../x.bin")]
    [InlineData("./x.bin")]
    [InlineData("x.bin/")]
    [InlineData("models\\acme\\x.bin")]
    [InlineData("models/acme/x\n.bin")]
    public void Names_with_empty_relative_or_control_parts_are_refused(string? name) => Assert.Null(UploadPath.Parse(name));

    [Fact]
    public void A_name_longer_than_storage_allows_is_refused() =>
        Assert.Null(UploadPath.Parse("models/acme/x/" + new string('a', UploadPath.MaxLength)));

    [Fact]
    public void Distinct_names_give_distinct_keys_even_where_escaping_could_collide()
    {
        var slash = UploadPath.Parse("data/a%2Fb.bin")!;
        var folder = UploadPath.Parse("data/a/b.bin")!;

        Assert.NotEqual(slash.Key, folder.Key);
    }

    [Theory]
    [InlineData("pypi/acme/acme-1.0-py3-none-any.whl", true, ArchiveFormat.Zip)]
    [InlineData("pypi/acme/acme-1.0.tar.gz", true, ArchiveFormat.Gzip)]
    [InlineData("models/acme/m/weights.bin", false, null)]
    [InlineData("models/acme/m/pkg.whl", false, null)]
    public void Packages_promise_their_archive_and_models_promise_nothing(string name, bool isPackage, ArchiveFormat? expected)
    {
        var path = UploadPath.Parse(name)!;
        var reference = new ArtifactReference(UploadsRemote.Uploads, path.Key, path.Subject, path.FileName, new string('a', 64), 1, "http://x/uploads/" + name, null);

        var context = UploadsRemote.Context(reference);

        Assert.Equal((isPackage, expected), (context.IsPackage, context.ExpectedArchive));
    }

    [Fact]
    public void An_upload_scan_instance_is_one_per_name_and_version_however_the_ETag_was_quoted()
    {
        var first = UploadScans.InstanceId("models/acme/m/w.bin", "0x1");

        Assert.Equal(first, UploadScans.InstanceId("models/acme/m/w.bin", UploadScans.VersionOf(new Azure.ETag("\"0x1\""))));
        Assert.Equal(first, UploadScans.InstanceId("models/acme/m/w.bin", UploadScans.VersionOf(new Azure.ETag("0x1"))));
        Assert.NotEqual(first, UploadScans.InstanceId("models/acme/m/w.bin", "0x2"));
        Assert.NotEqual(first, UploadScans.InstanceId("models/acme/m/w2.bin", "0x1"));
        Assert.StartsWith("upload-", first, StringComparison.Ordinal);
    }
}
