using System.Formats.Tar;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Scanning;
using Gatehouse.TestHelpers;
using Gatehouse.UpstreamSimulator.Oci;
using static Gatehouse.UpstreamSimulator.Tests.Oci.OciTestHost;

namespace Gatehouse.UpstreamSimulator.Tests.Oci;

/// <summary>What the generated images hold, and that every digest the registry states is the digest of the bytes.</summary>
public sealed class OciImagesTests
{
    private static readonly OciCatalog Catalog = OciCatalog.Empty.With(OciImages.All);

    [Fact]
    public void Two_builds_give_the_same_bytes()
    {
        var first = OciImages.Build();
        var second = OciImages.Build();

        Assert.Equal(first.Count, second.Count);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].Root.Body, second[i].Root.Body);
            Assert.Equal(first[i].Blobs.Select(b => b.Bytes), second[i].Blobs.Select(b => b.Bytes));
        }
    }

    [Fact]
    public void Every_honest_digest_is_the_sha256_of_its_bytes_and_every_diff_id_of_the_uncompressed_tar()
    {
        foreach (var image in Catalog.Images.Where(i => !i.Name.StartsWith("bad/", StringComparison.Ordinal)))
        {
            var repository = Catalog.Repositories[image.Name];
            Assert.Equal(image.Digest, Sha256(repository.Find(image.Tag)!.Body));
            foreach (var platform in image.Platforms)
            {
                Assert.Equal(platform.Digest, Sha256(repository.Find(platform.Digest)!.Body));
                var config = JsonDocument.Parse(Catalog.Blobs[platform.ConfigDigest].Bytes);
                Assert.Equal(platform.ConfigDigest, Sha256(Catalog.Blobs[platform.ConfigDigest].Bytes!));
                Assert.Equal(platform.Platform.Split('/')[1], config.RootElement.GetProperty("architecture").GetString());
                var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()).ToList();
                Assert.Equal(platform.Layers.Select(l => l.DiffId), diffIds);
                foreach (var layer in platform.Layers)
                {
                    var bytes = Catalog.Blobs[layer.Digest].Bytes!;
                    Assert.Equal(layer.Digest, Sha256(bytes));
                    Assert.Equal(layer.Size, bytes.Length);
                    Assert.Equal(layer.DiffId, Sha256(Decompress(bytes, layer.MediaType)));
                }
            }
        }
    }

    [Fact]
    public void Layers_are_sorted_with_a_fixed_mtime_and_uid_0()
    {
        var members = Members(Catalog.Blobs[Image("library/clean:1.0").Layers[0].Digest].Bytes!, RegistryMediaTypes.OciLayerGzip);

        Assert.Equal(members.Select(m => m.Name).Order(StringComparer.Ordinal), members.Select(m => m.Name));
        Assert.All(members, m => Assert.Equal(0, m.Uid));
        Assert.All(members, m => Assert.Equal(OciLayers.ModificationTime, m.ModificationTime));
    }

    [Fact]
    public void The_clean_base_layer_is_Debian_12_with_dpkg_status_links_and_directories()
    {
        var members = Members(Catalog.Blobs[Image("library/clean:1.0").Layers[0].Digest].Bytes!, RegistryMediaTypes.OciLayerGzip)
            .ToDictionary(m => m.Name);

        var osRelease = Encoding.UTF8.GetString(members["etc/os-release"].Content);
        Assert.Contains("\nID=debian\n", osRelease, StringComparison.Ordinal);
        Assert.Contains("\nVERSION_ID=\"12\"\n", osRelease, StringComparison.Ordinal);
        var status = Encoding.UTF8.GetString(members["var/lib/dpkg/status"].Content);
        Assert.Contains("Package: base-files\nEssential: yes\nStatus: install ok installed\n", status, StringComparison.Ordinal);
        Assert.Contains("Source: glibc\nVersion: 2.36-9+deb12u4\n", status, StringComparison.Ordinal);
        Assert.Contains("Status: deinstall ok config-files\n", status, StringComparison.Ordinal);
        Assert.Equal((TarEntryType.SymbolicLink, "usr/bin"), (members["bin"].Type, members["bin"].LinkName));
        Assert.Equal((TarEntryType.SymbolicLink, "/usr/bin/x"), (members["etc/alternatives/x"].Type, members["etc/alternatives/x"].LinkName));
        Assert.Equal((TarEntryType.HardLink, "usr/bin/x"), (members["usr/bin/x.hardlink"].Type, members["usr/bin/x.hardlink"].LinkName));
        Assert.Equal(TarEntryType.Directory, members["var/lib/dpkg/"].Type);
    }

    [Fact]
    public void The_zstd_layer_decodes_to_requests_metadata_and_a_safetensors_model_the_scanner_judges_safe()
    {
        var layer = Image("library/clean:1.0").Layers[1];
        Assert.Equal(RegistryMediaTypes.OciLayerZstd, layer.MediaType);
        Assert.True(Catalog.Blobs[layer.Digest].Bytes.AsSpan().StartsWith((byte[])[0x28, 0xB5, 0x2F, 0xFD]), "zstd frame magic");

        var members = Members(Catalog.Blobs[layer.Digest].Bytes!, layer.MediaType).ToDictionary(m => m.Name);

        var metadata = Encoding.UTF8.GetString(members["usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"].Content);
        Assert.Contains("\nName: requests\nVersion: 2.31.0\n", metadata, StringComparison.Ordinal);
        Assert.Equal(ScanLevel.Safe, Scan(members["models/model.safetensors"].Content, "model.safetensors").Verdict);
    }

    [Fact]
    public void The_evil_pickle_is_the_hand_written_os_system_pickle_and_the_scanner_finds_it_dangerous()
    {
        byte[] expected = [0x80, 0x02, .. "cos\nsystem\nq\0X\x02\0\0\0idq\x01"u8, 0x85, .. "q\x02Rq\x03."u8];
        Assert.Equal(expected, OciImages.MaliciousPickle);

        var layer = Image("library/evil-pickle:1.0").Layers[1];
        var pickle = Assert.Single(Members(Catalog.Blobs[layer.Digest].Bytes!, layer.MediaType), m => m.Name == "models/model.pkl");

        Assert.Equal(OciImages.MaliciousPickle, pickle.Content);
        Assert.Equal(ScanLevel.Dangerous, Scan(pickle.Content, "model.pkl").Verdict);
        Assert.Equal(ScanLevel.Dangerous, Scan(OciImages.SecondMaliciousPickle, "evil.pkl").Verdict);
    }

    [Fact]
    public void The_whiteout_images_layers_hold_the_whiteouts_and_its_final_filesystem_no_pickle()
    {
        var image = Image("library/whiteout:1.0");
        var layers = image.Layers.Select(l => Members(Catalog.Blobs[l.Digest].Bytes!, l.MediaType)).ToList();

        Assert.Contains(layers[0], m => m.Name == "models/model.pkl" && m.Content.SequenceEqual(OciImages.MaliciousPickle));
        Assert.Contains(layers[0], m => m.Name == "data/evil.pkl" && m.Content.SequenceEqual(OciImages.SecondMaliciousPickle));
        Assert.Contains(layers[1], m => m.Name == "models/.wh.model.pkl" && m.Type == TarEntryType.RegularFile && m.Content.Length == 0);
        Assert.Contains(layers[2], m => m.Name == "data/.wh..wh..opq");

        var final = Flatten(layers);
        Assert.DoesNotContain(final, path => path.EndsWith(".pkl", StringComparison.Ordinal));
        Assert.Contains("opt/keep.txt", final);
        Assert.Contains("data/readme.txt", final);
    }

    [Fact]
    public void The_vulnerable_image_holds_a_package_version_the_OSV_fixture_marks_critical()
    {
        var image = Image("library/vuln-py:1.0");
        Assert.Equal(RegistryMediaTypes.DockerManifest, image.MediaType);
        var layer = image.Layers[1];
        var metadata = Assert.Single(Members(Catalog.Blobs[layer.Digest].Bytes!, layer.MediaType),
            m => m.Name == "usr/local/lib/python3.11/site-packages/gh_dep-1.0.0.dist-info/METADATA");
        Assert.Contains("\nName: gh-dep\nVersion: 1.0.0\n", Encoding.UTF8.GetString(metadata.Content), StringComparison.Ordinal);

        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Fixtures, "osv", "records", "PYSEC-0000-GH-DEP-1.json")));
        var affected = Assert.Single(record.RootElement.GetProperty("affected").EnumerateArray());
        Assert.Equal(OciImages.VulnerablePackage, affected.GetProperty("package").GetProperty("name").GetString());
        Assert.Contains(OciImages.VulnerableVersion, affected.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", record.RootElement.GetProperty("severity")[0].GetProperty("score").GetString());
    }

    [Fact]
    public void The_debian_and_alpine_images_hold_the_package_versions_the_OS_fixture_records_mark_high()
    {
        var deb = Files(Image("library/vuln-deb:1.0"));
        Assert.Contains("\nID=debian\n", deb["etc/os-release"], StringComparison.Ordinal);
        Assert.Contains("\nVERSION_ID=\"12\"\n", deb["etc/os-release"], StringComparison.Ordinal);
        Assert.Contains("Package: openssl\nStatus: install ok installed\n", deb["var/lib/dpkg/status"], StringComparison.Ordinal);
        Assert.Contains($"Source: openssl\nVersion: {OciImages.VulnerableDebianVersion}\n", deb["var/lib/dpkg/status"], StringComparison.Ordinal);
        var dsa = OsRecord("DSA-0000-1");
        Assert.Equal(("Debian:12", OciImages.VulnerableDebianSource), Package(dsa, 0));
        Assert.Equal("3.0.11-1~deb12u2", Fixed(dsa, 0));

        var alpineImage = Image("library/vuln-alpine:3.19");
        Assert.Equal(RegistryMediaTypes.DockerManifest, alpineImage.MediaType);
        var alpine = Files(alpineImage);
        Assert.Contains("\nID=alpine\nVERSION_ID=3.19.1\n", alpine["etc/os-release"], StringComparison.Ordinal);
        Assert.Contains($"P:libcrypto3\nV:{OciImages.VulnerableAlpineVersion}\n", alpine["lib/apk/db/installed"], StringComparison.Ordinal);
        Assert.Contains("\no:openssl\n", alpine["lib/apk/db/installed"], StringComparison.Ordinal);
        var secdb = OsRecord("ALPINE-CVE-0000-0001");
        Assert.Equal(("Alpine:v3.19", OciImages.VulnerableAlpineOrigin), Package(secdb, 0));
        Assert.Equal("3.1.4-r1", Fixed(secdb, 0));

        // Both made-up records carry a CVSS 3.1 vector of 7.5 (high), so the default policy's vulnerable-high rule fires.
        foreach (var record in new[] { dsa, secdb })
        {
            Assert.Equal("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", record.RootElement.GetProperty("severity")[0].GetProperty("score").GetString());
        }
    }

    [Fact]
    public void The_clean_debian_image_has_its_own_layer_and_a_package_no_fixture_record_names()
    {
        var image = Image("library/deb-clean:1.0");
        var status = Files(image)["var/lib/dpkg/status"];
        Assert.Contains($"Package: {OciImages.DebCleanPackage}\n", status, StringComparison.Ordinal);
        Assert.Contains($"Source: {OciImages.DebCleanSource}\nVersion: {OciImages.DebCleanVersion}\n", status, StringComparison.Ordinal);

        var layer = Assert.Single(image.Layers).Digest;
        Assert.DoesNotContain(Catalog.Images.Where(i => i.Name != OciImages.DebClean), i => i.Platforms.SelectMany(p => p.Layers).Any(l => l.Digest == layer));
        var named = Directory.GetFiles(Path.Combine(RepositoryPaths.Fixtures, "osv", "os-records"), "*.json")
            .Select(f => Package(JsonDocument.Parse(File.ReadAllText(f)), 0).Name);
        Assert.DoesNotContain(OciImages.DebCleanSource, named);
        Assert.DoesNotContain(OciImages.DebCleanPackage, named);
    }

    [Fact]
    public void The_multiarch_index_and_manifest_list_put_the_pickle_on_arm64_only()
    {
        foreach (var (reference, index, child, layerType) in new[]
        {
            ("library/multiarch:1.0", RegistryMediaTypes.OciIndex, RegistryMediaTypes.OciManifest, RegistryMediaTypes.OciLayerGzip),
            ("library/multiarch:1.0-docker", RegistryMediaTypes.DockerManifestList, RegistryMediaTypes.DockerManifest, RegistryMediaTypes.DockerLayerGzip),
        })
        {
            var image = Image(reference);
            Assert.Equal(index, image.MediaType);
            Assert.Null(image.ConfigDigest);
            Assert.Equal(["linux/amd64", "linux/arm64/v8"], image.Platforms.Select(p => p.Platform));
            Assert.All(image.Platforms, p => Assert.Equal(child, p.MediaType));
            Assert.All(image.Platforms.SelectMany(p => p.Layers), l => Assert.Equal(layerType, l.MediaType));
            bool HasPickle(OciPlatformInfo p) => p.Layers.Any(l => Members(Catalog.Blobs[l.Digest].Bytes!, l.MediaType).Any(m => m.Name == "models/model.pkl"));
            Assert.False(HasPickle(image.Platforms[0]));
            Assert.True(HasPickle(image.Platforms[1]));
            using var body = JsonDocument.Parse(Catalog.Repositories[image.Name].Find(image.Tag)!.Body);
            Assert.Equal(image.Platforms.Select(p => p.Digest), body.RootElement.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("digest").GetString()));
        }
    }

    [Fact]
    public async Task The_bad_images_break_exactly_the_promise_they_are_named_for()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        var lying = Image("bad/manifest-digest:1.0");
        using (var response = await SendAsync(client, HttpMethod.Get, "/v2/bad/manifest-digest/manifests/1.0", await TokenAsync(client, "bad/manifest-digest")))
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(lying.Digest, Assert.Single(response.Headers.GetValues("Docker-Content-Digest")));
            Assert.NotEqual(lying.Digest, Sha256(body));
            JsonDocument.Parse(body).Dispose();
        }
        using (var byDigest = await SendAsync(client, HttpMethod.Get, $"/v2/bad/manifest-digest/manifests/{lying.Digest}", await TokenAsync(client, "bad/manifest-digest")))
        {
            Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
            Assert.NotEqual(lying.Digest, Sha256(await byDigest.Content.ReadAsByteArrayAsync()));
        }

        var tampered = Image("bad/blob-digest:1.0").Layers[0];
        var served = await BlobAsync(client, "bad/blob-digest", tampered.Digest, await TokenAsync(client, "bad/blob-digest"));
        Assert.Equal(tampered.Size, served.Length);
        Assert.NotEqual(tampered.Digest, Sha256(served));

        var malformedToken = await TokenAsync(client, "bad/malformed");
        using (var notJson = await SendAsync(client, HttpMethod.Get, "/v2/bad/malformed/manifests/1.0", malformedToken))
        {
            Assert.Equal(HttpStatusCode.OK, notJson.StatusCode);
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(notJson.Content.ReadAsByteArrayAsync().Result));
        }
        using (var noLayers = await SendAsync(client, HttpMethod.Get, "/v2/bad/malformed/manifests/missing-layers", malformedToken))
        {
            using var json = JsonDocument.Parse(await noLayers.Content.ReadAsByteArrayAsync());
            Assert.True(json.RootElement.TryGetProperty("config", out _));
            Assert.False(json.RootElement.TryGetProperty("layers", out _));
        }

        using var oversized = await SendAsync(client, HttpMethod.Get, "/v2/bad/oversized/manifests/1.0", await TokenAsync(client, "bad/oversized"));
        var big = await oversized.Content.ReadAsByteArrayAsync();
        Assert.Equal(OciImages.OversizedManifestBytes, big.Length);
        Assert.Equal(Sha256(big), Assert.Single(oversized.Headers.GetValues("Docker-Content-Digest")));
        JsonDocument.Parse(big).Dispose();
    }

    private static OciImageInfo Image(string reference) => Catalog.Images.Single(i => i.Reference == reference);

    /// <summary>The text of every regular file in an image's layers, by path.</summary>
    private static Dictionary<string, string> Files(OciImageInfo image) =>
        image.Layers.SelectMany(l => Members(Catalog.Blobs[l.Digest].Bytes!, l.MediaType)).Where(m => m.Type == TarEntryType.RegularFile)
            .ToDictionary(m => m.Name, m => Encoding.UTF8.GetString(m.Content));

    private static JsonDocument OsRecord(string id) => JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Fixtures, "osv", "os-records", id + ".json")));

    private static (string? Ecosystem, string? Name) Package(JsonDocument record, int affected)
    {
        var package = record.RootElement.GetProperty("affected")[affected].GetProperty("package");
        return (package.GetProperty("ecosystem").GetString(), package.GetProperty("name").GetString());
    }

    private static string? Fixed(JsonDocument record, int affected) =>
        record.RootElement.GetProperty("affected")[affected].GetProperty("ranges")[0].GetProperty("events").EnumerateArray()
            .Single(e => e.TryGetProperty("fixed", out _)).GetProperty("fixed").GetString();

    private static FileReport Scan(byte[] bytes, string name) =>
        new ModelScanner().ScanAsync(new MemoryStream(bytes), name, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The paths of the files left after applying the layers in order, with whiteouts and opaque whiteouts (OCI image spec layer.md).</summary>
    private static HashSet<string> Flatten(IEnumerable<List<LayerMember>> layers)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            foreach (var opaque in layer.Where(m => m.Name.EndsWith("/.wh..wh..opq", StringComparison.Ordinal)))
            {
                var directory = opaque.Name[..^".wh..wh..opq".Length];
                files.RemoveWhere(f => f.StartsWith(directory, StringComparison.Ordinal));
            }
            foreach (var member in layer.Where(m => !m.Name.EndsWith("/.wh..wh..opq", StringComparison.Ordinal)))
            {
                var slash = member.Name.LastIndexOf('/');
                var leaf = member.Name[(slash + 1)..];
                if (leaf.StartsWith(".wh.", StringComparison.Ordinal))
                {
                    files.Remove(member.Name[..(slash + 1)] + leaf[".wh.".Length..]);
                }
                else if (member.Type != TarEntryType.Directory)
                {
                    files.Add(member.Name);
                }
            }
        }
        return files;
    }
}
