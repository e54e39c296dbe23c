using Microsoft.DurableTask;

namespace Gatehouse.Pipeline;

/// <summary>The pipeline's orchestration and activities, for both hosts' Durable registration.</summary>
public static class PipelineTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ScanArtifactOrchestrator>();
        registry.AddActivity<FetchContentActivity>();
        registry.AddActivity<ArchiveContentActivity>();
        registry.AddActivity<ModelContentActivity>();
        registry.AddActivity<GatherReferenceFactsActivity>();
        registry.AddActivity<RecordFactsActivity>();
        registry.AddActivity<ReadDecisionActivity>();
    }
}
