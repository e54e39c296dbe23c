using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Gatehouse.Core.Tests.Scans.Archives;

/// <summary>Builds wheels, sdists and hostile archives in memory, so every fixture shows how it was made.</summary>
internal static class TestArchives
{
    /// <summary>The members of a clean wheel of "demo" 1.0.</summary>
    public static readonly (string Path, string Content)[] CleanWheelMembers =
    [
        ("demo/__init__.py", "from demo.core import greet\n"),
        ("demo/core.py", "def greet(name):\n    return f'hello {name}'\n"),
        ("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
        ("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("demo-1.0.dist-info/top_level.txt", "demo\n"),
        ("demo-1.0.dist-info/RECORD", "demo/__init__.py,,\ndemo/core.py,,\n"),
    ];

    /// <summary>The members of a clean sdist of "demo" 1.0.</summary>
    public static readonly (string Path, string Content)[] CleanSdistMembers =
    [
        ("demo-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
        ("demo-1.0/setup.py", "from setuptools import setup\nsetup(name='demo', version='1.0', packages=['demo'])\n"),
        ("demo-1.0/demo/__init__.py", "from demo.core import greet\n"),
        ("demo-1.0/demo/core.py", "def greet(name):\n    return f'hello {name}'\n"),
    ];

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Random bytes that do not compress, from a fixed seed.</summary>
    public static byte[] Incompressible(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The clean demo wheel plus <paramref name="extra"/> members, which replace clean ones of the same name.</summary>
    public static MemoryStream Wheel(params (string Path, string Content)[] extra) => Zip([.. Merge(CleanWheelMembers, extra)]);

    /// <summary>The clean demo sdist (tar.gz) plus <paramref name="extra"/> members, which replace clean ones of the same name.</summary>
    public static MemoryStream Sdist(params (string Path, string Content)[] extra) => TarGz(tar =>
    {
        tar.AddDirectory("demo-1.0/");
        tar.AddDirectory("demo-1.0/demo/");
        foreach (var (path, content) in Merge(CleanSdistMembers, extra))
        {
            tar.AddFile(path, Utf8(content));
        }
    });

    private static IEnumerable<(string Path, string Content)> Merge((string Path, string Content)[] clean, (string Path, string Content)[] extra) =>
        clean.Where(c => !extra.Any(e => e.Path == c.Path)).Concat(extra);

    public static MemoryStream Zip(params (string Path, string Content)[] files) => Zip(zip =>
    {
        foreach (var (path, content) in files)
        {
            zip.AddFile(path, Utf8(content));
        }
    });

    public static MemoryStream Zip(Action<ZipArchive> build)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            build(zip);
        }
        stream.Position = 0;
        return stream;
    }

    public static byte[] ZipBytes(Action<ZipArchive> build) => Zip(build).ToArray();

    public static void AddFile(this ZipArchive zip, string path, byte[] content, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var entry = zip.CreateEntry(path, level).Open();
        entry.Write(content);
    }

    /// <summary>A zip member marked as a symlink the way Info-ZIP does: Unix mode S_IFLNK|0777 in the high 16 bits.</summary>
    public static void AddSymlink(this ZipArchive zip, string path, string target)
    {
        var entry = zip.CreateEntry(path, CompressionLevel.NoCompression);
        entry.ExternalAttributes = unchecked((int)(0xA1FFu << 16));
        using var content = entry.Open();
        content.Write(Utf8(target));
    }

    public static MemoryStream TarGz(Action<TarWriter> build)
    {
        var stream = new MemoryStream();
        using (var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            build(tar);
        }
        stream.Position = 0;
        return stream;
    }

    public static MemoryStream Tar(Action<TarWriter> build)
    {
        var stream = new MemoryStream();
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            build(tar);
        }
        stream.Position = 0;
        return stream;
    }

    public static void AddFile(this TarWriter tar, string path, byte[] content) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(content) });

    public static void AddDirectory(this TarWriter tar, string path) => tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, path));

    public static void AddLink(this TarWriter tar, TarEntryType type, string path, string target) =>
        tar.WriteEntry(new PaxTarEntry(type, path) { LinkName = target });

    public static void AddSpecial(this TarWriter tar, TarEntryType type, string path) => tar.WriteEntry(new PaxTarEntry(type, path));
}
