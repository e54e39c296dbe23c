using System.Diagnostics;
using System.IO.Compression;

namespace Gatehouse.Cli.Deploy;

/// <summary>The Functions app could not be published or packaged.</summary>
internal sealed class PackageException(string message) : Exception(message);

/// <summary>
/// The Functions app as Flex Consumption runs it: the <c>dotnet publish</c> output zipped with <c>host.json</c> at the
/// root. Entries carry Unix permissions, because Flex mounts the package as a Linux file system and a zip made without
/// them leaves files the host cannot read (the app starts with no functions and no error).
/// </summary>
internal static class FunctionAppPackage
{
    /// <summary>
    /// The zip to deploy: <paramref name="package"/> as it is when it is a zip (it must hold host.json at its root), else
    /// that folder zipped, else <paramref name="project"/> published into <paramref name="scratch"/> and zipped.
    /// </summary>
    public static async Task<string> PrepareAsync(string? package, string project, string scratch, TextWriter output, CancellationToken cancellationToken)
    {
        if (package is not null && File.Exists(package))
        {
            using var archive = ZipFile.OpenRead(package);
            if (archive.GetEntry("host.json") is null)
            {
                throw new PackageException($"{package} has no host.json at its root; it is not a Functions app package.");
            }
            output.WriteLine($"Code package: {package}");
            return package;
        }
        var folder = package;
        if (folder is null)
        {
            folder = Path.Combine(scratch, "publish");
            output.WriteLine($"Publishing {project} (dotnet publish -c Release)");
            await PublishAsync(project, folder, cancellationToken);
        }
        if (Problem(folder) is { } problem)
        {
            throw new PackageException(problem);
        }
        var zip = Path.Combine(scratch, "app.zip");
        await using (var stream = File.Create(zip))
        {
            Zip(folder, stream);
        }
        output.WriteLine($"Code package: {folder} ({Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count()} files, {new FileInfo(zip).Length / 1024} KiB zipped)");
        return zip;
    }

    /// <summary>Runs <c>dotnet publish &lt;project&gt; -c Release -o &lt;folder&gt;</c>; throws with its output when it fails.</summary>
    public static async Task PublishAsync(string project, string folder, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", "Release", "-o", folder, "-nologo", "-v:q" })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new PackageException("Could not start dotnet.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new PackageException($"dotnet publish {project} failed (exit {process.ExitCode}):\n{(await stdout + await stderr).Trim()}");
        }
    }

    /// <summary>Why <paramref name="folder"/> is not a published isolated-worker app, or null when it is one.</summary>
    public static string? Problem(string folder)
    {
        foreach (var required in new[] { "host.json", "worker.config.json" })
        {
            if (!File.Exists(Path.Combine(folder, required)))
            {
                return $"{folder} is not a published Functions app: it has no {required} at its root.";
            }
        }
        return null;
    }

    /// <summary>Zips <paramref name="folder"/> (dot-folders such as <c>.azurefunctions</c> included) in a stable order.</summary>
    public static void Zip(string folder, Stream destination)
    {
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        var root = Path.GetFullPath(folder);
        var files = Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = File.GetLastWriteTimeUtc(file);
            // S_IFREG plus rw-r--r--, or rwxr-xr-x when the file is executable for its owner.
            var executable = !OperatingSystem.IsWindows() && File.GetUnixFileMode(file).HasFlag(UnixFileMode.UserExecute);
            entry.ExternalAttributes = (executable ? 0x81ED : 0x81A4) << 16;
            using var input = File.OpenRead(file);
            using var output = entry.Open();
            input.CopyTo(output);
        }
    }
}
