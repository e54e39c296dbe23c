using Gatehouse.HuggingFace.Prefetch;
using Gatehouse.Pipeline;
using Gatehouse.Uploads;
using Gatehouse.Rescans;
using Microsoft.DurableTask;

namespace Gatehouse;

/// <summary>Every orchestration and activity, for both hosts' Durable registration: the pipeline's, the Hugging Face prefetch's and the uploads'.</summary>
public static class GatehouseTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        PipelineTasks.Register(registry);
        registry.AddOrchestrator<ScanRepositoryOrchestrator>();
        registry.AddActivity<ListRepositoryFilesActivity>();
        registry.AddActivity<PrefetchFileActivity>();
        UploadTasks.Register(registry);
        RescanTasks.Register(registry);
        Oci.Scanning.OciTasks.Register(registry);
    }
}
