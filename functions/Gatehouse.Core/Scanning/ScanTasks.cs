using Microsoft.DurableTask;

namespace Gatehouse.Scanning;

/// <summary>Registers the scan orchestration and its activities; both hosts call this.</summary>
public static class ScanTasks
{
    public static void Register(DurableTaskRegistry registry)
    {
    }
}
