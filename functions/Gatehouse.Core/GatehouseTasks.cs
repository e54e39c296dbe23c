using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Pipeline;
using Gatehouse.Rescans;
using Microsoft.DurableTask;

namespace Gatehouse;

/// <summary>Every orchestration and activity, for both hosts' Durable registration: the pipeline's, and the Hugging Face prefetch's.</summary>
public static class GatehouseTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        PipelineTasks.Register(registry);
        registry.AddOrchestrator<ScanRepositoryOrchestrator>();
        registry.AddActivity<ListRepositoryFilesActivity>();
        registry.AddActivity<PrefetchFileActivity>();
        RescanTasks.Register(registry);
    }
}
