using Microsoft.DurableTask;

namespace Gatehouse.Rescans;

/// <summary>The rescan's orchestration and activities, for both hosts' Durable registration.</summary>
public static class RescanTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
        registry.AddOrchestrator<RescanOrchestrator>();
        registry.AddActivity<RescanBaselineActivity>();
        registry.AddActivity<ListRescanBatchActivity>();
        registry.AddActivity<RescanChunkActivity>();
    }
}
