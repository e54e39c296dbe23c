using Gatehouse.Configuration;

namespace Gatehouse.Scans.Archives;

/// <summary>
/// Archive safety and install-time code from one walk over the archive's members: the archive is decompressed and
/// parsed once, and install-time code reads each member as the walk hands it over.
/// </summary>
public static class ArchiveChecks
{
    /// <summary>Both checks' findings; content that is no archive has none.</summary>
    public static async Task<ArchiveChecksOutcome> InspectAsync(Stream seekable, ArchiveLimits limits, ScanBudget? budget, CancellationToken cancellationToken)
    {
        ArchiveFormat format;
        bool wheel;
        try
        {
            format = await ArchiveReader.SniffAsync(seekable, cancellationToken);
            wheel = format == ArchiveFormat.Zip && await ArchiveReader.IsWheelAsync(seekable, cancellationToken);
        }
        catch (OperationCanceledException) when (budget is { TimedOut: true })
        {
            var late = budget.TimeExceeded();
            return new ArchiveChecksOutcome(ArchiveFormat.Unknown, false, new ArchiveWalk([late], $"{late.Rule}: {late.Message}", BudgetExceeded: true), []);
        }
        if (format == ArchiveFormat.Unknown)
        {
            return new ArchiveChecksOutcome(format, false, new ArchiveWalk([], null, BudgetExceeded: false), []);
        }
        var installTime = new InstallTimeCode.Inspector(wheel);
        var walk = await new ArchiveSafety(limits, budget).WalkAsync(seekable, format, installTime, cancellationToken);
        return new ArchiveChecksOutcome(format, wheel, walk, installTime.Finish());
    }
}

/// <summary>What the one walk found: the safety walk (its findings, and why it stopped early), and install-time code's findings.</summary>
/// <param name="InstallTime">Install-time code's findings; when <see cref="ArchiveWalk.StoppedBecause"/> is set they cover only the members before it.</param>
public sealed record ArchiveChecksOutcome(ArchiveFormat Format, bool IsWheel, ArchiveWalk Safety, IReadOnlyList<Finding> InstallTime);
