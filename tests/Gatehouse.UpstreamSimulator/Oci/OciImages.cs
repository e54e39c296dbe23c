using System.Buffers.Binary;
using System.Text;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// The small images the simulated registry serves, built in code on every start (same bytes every run; see
/// <see cref="OciLayers"/>). Names are Docker Hub's: the simulator plays registry-1.docker.io.
/// </summary>
public static class OciImages
{
    public const string Clean = "library/clean";
    public const string EvilPickle = "library/evil-pickle";
    public const string VulnPy = "library/vuln-py";
    public const string Whiteout = "library/whiteout";
    public const string Multiarch = "library/multiarch";
    public const string VulnDeb = "library/vuln-deb";
    public const string VulnAlpine = "library/vuln-alpine";
    public const string DebClean = "library/deb-clean";
    public const string BadManifestDigest = "bad/manifest-digest";
    public const string BadBlobDigest = "bad/blob-digest";
    public const string BadMalformed = "bad/malformed";
    public const string BadOversized = "bad/oversized";

    /// <summary>The Python package of <see cref="VulnPy"/>: PYSEC-0000-GH-DEP-1 in tests/fixtures/osv affects it (CVSS 3.1 9.8, critical).</summary>
    public const string VulnerablePackage = "gh-dep";
    public const string VulnerableVersion = "1.0.0";

    /// <summary>The dpkg source package and version of <see cref="VulnDeb"/>: DSA-0000-1 in tests/fixtures/osv/os-records affects it (CVSS 3.1 7.5, high).</summary>
    public const string VulnerableDebianSource = "openssl";
    public const string VulnerableDebianVersion = "3.0.11-1~deb12u1";

    /// <summary>The apk package of <see cref="VulnAlpine"/>, its origin and version: ALPINE-CVE-0000-0001 affects the origin (CVSS 3.1 7.5, high).</summary>
    public const string VulnerableAlpinePackage = "libcrypto3";
    public const string VulnerableAlpineOrigin = "openssl";
    public const string VulnerableAlpineVersion = "3.1.4-r0";

    /// <summary>The one package of <see cref="DebClean"/> (binary, source, version): no fixture record names it, so a test can add one.</summary>
    public const string DebCleanPackage = "libexpat1";
    public const string DebCleanSource = "expat";
    public const string DebCleanVersion = "2.5.0-1";

    /// <summary>Size of the <see cref="BadOversized"/> manifest: past the 4 MiB the distribution spec asks registries to accept.</summary>
    public const int OversizedManifestBytes = 5 * 1024 * 1024;

    /// <summary>
    /// A protocol-2 pickle whose loading runs <c>os.system("id")</c>: GLOBAL os system, the argument tuple, REDUCE.
    /// Written by hand, as pickle.dumps of such a class would write it.
    /// </summary>
    public static readonly byte[] MaliciousPickle = SystemPickle("os", "id");

    /// <summary>A second malicious pickle (protocol 2, <c>posix.system("uname -a")</c>) for the opaque-whiteout directory.</summary>
    public static readonly byte[] SecondMaliciousPickle = SystemPickle("posix", "uname -a");

    /// <summary>Every standard image, in build order (the CDN shares a blob between images that hold the same layer).</summary>
    public static IReadOnlyList<OciImage> All { get; } = Build();

    /// <summary>A fresh build of every standard image (tests compare two builds for determinism).</summary>
    public static IReadOnlyList<OciImage> Build()
    {
        var baseLayer = DebianBaseLayer(docker: false);
        var dockerBaseLayer = DebianBaseLayer(docker: true);
        var pythonLayer = OciLayers.Build(
        [
            OciTarMember.Directory("usr/lib/python3/dist-packages/requests-2.31.0.dist-info"),
            OciTarMember.File("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", Metadata("requests", "2.31.0", "Python HTTP for Humans.")),
            OciTarMember.File("usr/lib/python3/dist-packages/requests/__init__.py", "__version__ = \"2.31.0\"\n"),
            OciTarMember.Directory("models"),
            OciTarMember.File("models/config.json", "{\"hidden_size\": 8, \"model_type\": \"gatehouse-demo\"}\n"),
            OciTarMember.File("models/model.safetensors", Safetensors()),
        ], OciCompression.Zstd);
        var evilLayer = OciLayers.Build([OciTarMember.Directory("models"), OciTarMember.File("models/model.pkl", MaliciousPickle)], OciCompression.Gzip);
        var dockerEvilLayer = evilLayer with { Blob = evilLayer.Blob with { MediaType = RegistryMediaTypes.DockerLayerGzip } };
        var vulnLayer = OciLayers.Build(
        [
            OciTarMember.Directory("usr/local/lib/python3.11/site-packages/gh_dep"),
            OciTarMember.File("usr/local/lib/python3.11/site-packages/gh_dep/__init__.py", "VERSION = \"1.0.0\"\n"),
            OciTarMember.Directory("usr/local/lib/python3.11/site-packages/gh_dep-1.0.0.dist-info"),
            OciTarMember.File("usr/local/lib/python3.11/site-packages/gh_dep-1.0.0.dist-info/METADATA",
                Metadata(VulnerablePackage, VulnerableVersion, "Gatehouse demo dependency.")),
        ], OciCompression.Gzip, docker: true);

        var amd64Clean = OciImageBuilder.PlatformImage([baseLayer], OciPlatform.LinuxAmd64, docker: false, "multiarch linux/amd64 (clean)");
        var arm64Evil = OciImageBuilder.PlatformImage([baseLayer, evilLayer], OciPlatform.LinuxArm64, docker: false, "multiarch linux/arm64 (malicious pickle)");
        var dockerAmd64Clean = OciImageBuilder.PlatformImage([dockerBaseLayer], OciPlatform.LinuxAmd64, docker: true, "multiarch linux/amd64 (clean)");
        var dockerArm64Evil = OciImageBuilder.PlatformImage(
            [dockerBaseLayer, dockerEvilLayer], OciPlatform.LinuxArm64, docker: true, "multiarch linux/arm64 (malicious pickle)");

        return
        [
            OciImageBuilder.Image(Clean, ["1.0", "latest"], [baseLayer, pythonLayer],
                "clean: Debian 12 base (gzip) + requests 2.31.0 and a safetensors model (zstd); OCI manifest"),
            OciImageBuilder.Image(Clean, ["1.1"], [dockerBaseLayer], "clean: the Debian 12 base layer alone; Docker schema-2 manifest", docker: true),
            OciImageBuilder.Image(EvilPickle, ["1.0"], [baseLayer, evilLayer], "models/model.pkl calls os.system('id'); OCI manifest"),
            OciImageBuilder.Image(VulnPy, ["1.0"], [dockerBaseLayer, vulnLayer],
                $"{VulnerablePackage} {VulnerableVersion} in site-packages (PYSEC-0000-GH-DEP-1, critical); Docker schema-2 manifest", docker: true),
            WhiteoutImage(),
            .. DistributionImages(),
            OciImageBuilder.Index(Multiarch, ["1.0"], [amd64Clean, arm64Evil], "OCI index: linux/amd64 clean, linux/arm64 with models/model.pkl (os.system)"),
            OciImageBuilder.Index(Multiarch, ["1.0-docker"], [dockerAmd64Clean, dockerArm64Evil],
                "Docker manifest list: linux/amd64 clean, linux/arm64 with models/model.pkl (os.system)", docker: true),
            .. BadImages(),
        ];
    }

    /// <summary>Debian 12: os-release, a dpkg status database, symlinks (relative and absolute), a hard link and directories.</summary>
    private static OciLayer DebianBaseLayer(bool docker) => OciLayers.Build(
    [
        OciTarMember.Symlink("bin", "usr/bin"),
        OciTarMember.Directory("etc"),
        OciTarMember.Directory("etc/alternatives"),
        OciTarMember.Symlink("etc/alternatives/x", "/usr/bin/x"),
        OciTarMember.File("etc/os-release", DebianOsRelease),
        OciTarMember.Directory("tmp"),
        OciTarMember.Directory("usr"),
        OciTarMember.Directory("usr/bin"),
        new OciTarMember("usr/bin/x", System.Formats.Tar.TarEntryType.RegularFile, Encoding.UTF8.GetBytes("#!/bin/sh\necho x\n"),
            Mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherExecute),
        OciTarMember.HardLink("usr/bin/x.hardlink", "usr/bin/x"),
        OciTarMember.Directory("var"),
        OciTarMember.Directory("var/lib"),
        OciTarMember.Directory("var/lib/dpkg"),
        OciTarMember.File("var/lib/dpkg/status", DpkgStatus),
    ], OciCompression.Gzip, docker);

    /// <summary>
    /// Four installed packages (two with a <c>Source</c> other than their name, one with the source's own version) and one
    /// removed package whose config files remain (<c>deinstall ok config-files</c>: not installed).
    /// </summary>
    private const string DpkgStatus = """
        Package: base-files
        Essential: yes
        Status: install ok installed
        Priority: required
        Section: admin
        Installed-Size: 340
        Maintainer: Santiago Vila <sanvila@debian.org>
        Architecture: amd64
        Version: 12.4+deb12u5
        Description: Debian base system miscellaneous files

        Package: libc6
        Status: install ok installed
        Priority: optional
        Section: libs
        Installed-Size: 12987
        Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: glibc
        Version: 2.36-9+deb12u4
        Description: GNU C Library: Shared libraries

        Package: libgcc-s1
        Status: install ok installed
        Priority: optional
        Section: libs
        Installed-Size: 141
        Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: gcc-12 (12.2.0-14)
        Version: 12.2.0-14
        Description: GCC support library

        Package: zlib1g
        Status: install ok installed
        Priority: optional
        Section: libs
        Installed-Size: 164
        Maintainer: Mark Brown <broonie@debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: zlib
        Version: 1:1.2.13.dfsg-1
        Description: compression library - runtime

        Package: oldlib
        Status: deinstall ok config-files
        Priority: optional
        Section: libs
        Architecture: amd64
        Version: 1.0-1
        Description: a removed package whose config files remain

        """;

    /// <summary>
    /// Images whose OS packages OSV's Debian and Alpine fixture exports name: one layer each, of their own (no other image
    /// shares it, so a record a test adds for <see cref="DebClean"/> changes no other image's verdict).
    /// </summary>
    private static IEnumerable<OciImage> DistributionImages()
    {
        OciLayer Layer(string osRelease, string database, string records, bool docker) => OciLayers.Build(
        [
            OciTarMember.Directory("etc"),
            OciTarMember.File("etc/os-release", osRelease),
            .. LayerPaths(database).SkipLast(1).Select(OciTarMember.Directory),
            OciTarMember.File(database, records),
        ], OciCompression.Gzip, docker);

        yield return OciImageBuilder.Image(VulnDeb, ["1.0"], [Layer(DebianOsRelease, "var/lib/dpkg/status", $"""
            Package: libssl3
            Status: install ok installed
            Priority: optional
            Section: libs
            Architecture: amd64
            Multi-Arch: same
            Source: {VulnerableDebianSource}
            Version: {VulnerableDebianVersion}
            Description: Secure Sockets Layer toolkit - shared libraries

            Package: openssl
            Status: install ok installed
            Priority: optional
            Section: utils
            Architecture: amd64
            Version: {VulnerableDebianVersion}
            Description: Secure Sockets Layer toolkit - cryptographic utility

            """, docker: false)], $"Debian 12 with {VulnerableDebianSource} {VulnerableDebianVersion} (DSA-0000-1, high); OCI manifest");

        yield return OciImageBuilder.Image(VulnAlpine, ["3.19"], [Layer("""
            NAME="Alpine Linux"
            ID=alpine
            VERSION_ID=3.19.1
            PRETTY_NAME="Alpine Linux v3.19"
            HOME_URL="https://alpinelinux.org/"

            """, "lib/apk/db/installed", $"""
            C:Q1gatehousemadeupchecksum0000000000=
            P:{VulnerableAlpinePackage}
            V:{VulnerableAlpineVersion}
            A:x86_64
            S:1720000
            I:4400000
            T:Crypto library from openssl
            U:https://www.openssl.org/
            L:Apache-2.0
            o:{VulnerableAlpineOrigin}

            C:Q1gatehousemadeupchecksum0000000001=
            P:musl
            V:1.2.4_git20230717-r4
            A:x86_64
            T:the musl c library (libc) implementation
            L:MIT
            o:musl

            """, docker: true)], $"Alpine 3.19 with {VulnerableAlpinePackage} {VulnerableAlpineVersion} (origin {VulnerableAlpineOrigin}: ALPINE-CVE-0000-0001, high); Docker schema-2 manifest",
            docker: true);

        yield return OciImageBuilder.Image(DebClean, ["1.0"], [Layer(DebianOsRelease, "var/lib/dpkg/status", $"""
            Package: {DebCleanPackage}
            Status: install ok installed
            Priority: optional
            Section: libs
            Architecture: amd64
            Multi-Arch: same
            Source: {DebCleanSource}
            Version: {DebCleanVersion}
            Description: XML parsing C library - runtime library

            """, docker: false)], $"Debian 12 with {DebCleanPackage} {DebCleanVersion} (source {DebCleanSource}), which no fixture advisory names; OCI manifest");
    }

    /// <summary>The directories above <paramref name="path"/>, outermost first, and the path itself.</summary>
    private static IEnumerable<string> LayerPaths(string path)
    {
        var parts = path.Split('/');
        return Enumerable.Range(1, parts.Length).Select(n => string.Join('/', parts[..n]));
    }

    private const string DebianOsRelease = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION="12 (bookworm)"
        VERSION_CODENAME=bookworm
        ID=debian
        HOME_URL="https://www.debian.org/"

        """;

    /// <summary>
    /// Layer 1: the malicious pickle at <c>models/model.pkl</c>, <c>opt/keep.txt</c> and a second one at <c>data/evil.pkl</c>;
    /// layer 2 whites out <c>models/model.pkl</c>; layer 3 empties <c>data/</c> with an opaque whiteout and adds a text file.
    /// The final filesystem holds nothing malicious.
    /// </summary>
    private static OciImage WhiteoutImage()
    {
        var first = OciLayers.Build(
        [
            OciTarMember.Directory("data"),
            OciTarMember.File("data/evil.pkl", SecondMaliciousPickle),
            OciTarMember.Directory("models"),
            OciTarMember.File("models/model.pkl", MaliciousPickle),
            OciTarMember.Directory("opt"),
            OciTarMember.File("opt/keep.txt", "kept by every later layer\n"),
        ], OciCompression.Gzip);
        var second = OciLayers.Build([OciTarMember.Directory("models"), OciTarMember.Whiteout("models/model.pkl")], OciCompression.Gzip);
        var third = OciLayers.Build(
            [OciTarMember.Directory("data"), OciTarMember.OpaqueWhiteout("data"), OciTarMember.File("data/readme.txt", "data was emptied by an opaque whiteout\n")],
            OciCompression.Gzip);
        return OciImageBuilder.Image(Whiteout, ["1.0"], [first, second, third],
            "layer 1 has two malicious pickles, layer 2 whites out models/model.pkl, layer 3 opaque-whites data/; final filesystem clean");
    }

    /// <summary>Images that break the protocol's promises: a lying manifest digest, a lying blob, bad JSON, no layers, 5 MiB.</summary>
    private static IEnumerable<OciImage> BadImages()
    {
        var plain = OciLayers.Build([OciTarMember.File("bad/manifest-digest.txt", "served under a digest that is not its own\n")], OciCompression.Gzip);
        var honest = OciImageBuilder.PlatformImage([plain], OciPlatform.LinuxAmd64, docker: false, "bad manifest digest");
        var claimed = OciBlob.DigestOf([.. honest.Manifest.Body, (byte)'\n']);
        var lying = honest with { Manifest = honest.Manifest with { Digest = claimed, ServedDigest = claimed } };
        yield return new OciImage(BadManifestDigest, ["1.0"], lying.Manifest, [lying],
            "Docker-Content-Digest and the digest URL name sha256 of the body plus a newline, not of the body");

        var layer = OciLayers.Build([OciTarMember.File("bad/blob-digest.txt", "these bytes are served with one byte flipped\n")], OciCompression.Gzip);
        var flipped = (byte[])layer.Blob.Bytes!.Clone();
        flipped[flipped.Length / 2] ^= 0xFF;
        var tampered = layer with { Blob = layer.Blob with { Bytes = flipped } };
        yield return OciImageBuilder.Image(BadBlobDigest, ["1.0"], [tampered], "the layer's bytes do not match its digest (middle byte flipped)");

        var config = OciImageBuilder.Config([plain], OciPlatform.LinuxAmd64, docker: false, "malformed");
        var notJson = OciManifest.Of("{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"config\": "u8.ToArray(),
            RegistryMediaTypes.OciManifest);
        yield return new OciImage(BadMalformed, ["1.0"], notJson, [], "the manifest body is truncated JSON");
        var noLayers = OciManifest.Of(OciImageBuilder.Write(json =>
        {
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", RegistryMediaTypes.OciManifest);
            json.WriteStartObject("config");
            json.WriteString("mediaType", config.MediaType);
            json.WriteString("digest", config.Digest);
            json.WriteNumber("size", config.Size);
            json.WriteEndObject();
        }), RegistryMediaTypes.OciManifest);
        yield return new OciImage(BadMalformed, ["missing-layers"], noLayers, [], "an image manifest without layers", [config]);

        yield return new OciImage(BadOversized, ["1.0"], Oversized(plain), [], $"a valid manifest of {OversizedManifestBytes} bytes (padded annotation)",
            [plain.Blob]);
    }

    /// <summary>A valid OCI manifest padded with an annotation to exactly <see cref="OversizedManifestBytes"/>.</summary>
    private static OciManifest Oversized(OciLayer layer)
    {
        var config = OciImageBuilder.Config([layer], OciPlatform.LinuxAmd64, docker: false, "oversized");
        var empty = OciImageBuilder.ImageManifest(config, [layer.Blob], docker: false, new Dictionary<string, string> { ["org.gatehouse.padding"] = "" });
        var padded = OciImageBuilder.ImageManifest(config, [layer.Blob], docker: false,
            new Dictionary<string, string> { ["org.gatehouse.padding"] = new string('x', OversizedManifestBytes - empty.Body.Length) });
        return padded;
    }

    /// <summary>Core metadata (the METADATA file of a wheel's dist-info).</summary>
    private static string Metadata(string name, string version, string summary) =>
        $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\nLicense: Apache-2.0\n";

    /// <summary>A benign safetensors file: one F32 tensor <c>weight</c> of two elements.</summary>
    private static byte[] Safetensors()
    {
        var header = Encoding.UTF8.GetBytes("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        var padded = (header.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + padded), 1.0f);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + padded + 4), -1.0f);
        return bytes;
    }

    /// <summary>
    /// <c>PROTO 2, GLOBAL module system, BINPUT 0, BINUNICODE command, BINPUT 1, TUPLE1, BINPUT 2, REDUCE, BINPUT 3, STOP</c>:
    /// what pickle.dumps writes for an object whose __reduce__ returns (os.system, (command,)).
    /// </summary>
    private static byte[] SystemPickle(string module, string command)
    {
        var argument = Encoding.UTF8.GetBytes(command);
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, argument.Length);
        return [0x80, 0x02, (byte)'c', .. Encoding.ASCII.GetBytes(module + "\nsystem\n"), (byte)'q', 0, (byte)'X', .. length, .. argument,
            (byte)'q', 1, 0x85, (byte)'q', 2, (byte)'R', (byte)'q', 3, (byte)'.'];
    }
}
