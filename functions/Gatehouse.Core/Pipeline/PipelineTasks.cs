using Microsoft.DurableTask;

namespace Gatehouse.Pipeline;

/// <summary>The pipeline's orchestration and activities, for both hosts' Durable registration.</summary>
public static class PipelineTasks
{
    /// <summary>What every orchestration gives its activities and sub-orchestrations: three attempts, 2 s and then 4 s apart.</summary>
    public static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2), backoffCoefficient: 2));

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
