using Gatehouse.HuggingFace.Prefetch;
using Microsoft.DurableTask;

namespace Gatehouse.Scans;

/// <summary>Registers the scan orchestrations (one content; a whole Hugging Face repository) and their activities; both hosts call this.</summary>
public static class ScanTasks
{
    /// <summary>The checks the orchestrator fans out to, each a <c>TaskActivity&lt;ScanRequest, CheckResult&gt;</c>.</summary>
    public static readonly IReadOnlyList<string> Checks = [nameof(ArchiveSafetyActivity), nameof(InstallTimeCodeActivity), nameof(ModelContentActivity)];

    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ScanArtifactOrchestrator>();
        registry.AddActivity<ArchiveSafetyActivity>();
        registry.AddActivity<InstallTimeCodeActivity>();
        registry.AddActivity<ModelContentActivity>();
        registry.AddActivity<RecordVerdictActivity>();
        registry.AddOrchestrator<ScanRepositoryOrchestrator>();
        registry.AddActivity<ListRepositoryFilesActivity>();
        registry.AddActivity<PrefetchFileActivity>();
        registry.AddActivity<ReadVerdictActivity>();
    }
}
