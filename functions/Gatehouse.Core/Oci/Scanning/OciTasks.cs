using Microsoft.DurableTask;

namespace Gatehouse.Oci.Scanning;

/// <summary>The container-image remote's orchestrations and activities, for both hosts' Durable registration.</summary>
public static class OciTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<ScanImageOrchestrator>();
        registry.AddOrchestrator<ScanLayerOrchestrator>();
        registry.AddActivity<PrepareImageActivity>();
        registry.AddActivity<InspectLayerActivity>();
        registry.AddActivity<JudgeImageActivity>();
        registry.AddActivity<ReleaseImageClaimActivity>();
    }
}
