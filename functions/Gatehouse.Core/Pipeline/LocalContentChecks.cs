using System.Collections.Frozen;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Pipeline;

/// <summary>
/// Runs every content check (<see cref="ContentChecks.Activities"/>) in this process, in parallel, as soon as the fetch has
/// verified the bytes: they read the local copy while the last blocks are still being staged, and the orchestration
/// is spared one round of activity dispatch. They are the same activity classes the orchestration schedules, so a
/// check behaves the same either way. A check that throws is left out, and the orchestration runs it as an activity
/// (with its retries).
/// </summary>
public sealed class LocalContentChecks(IServiceProvider services, ILogger<LocalContentChecks> log)
{
    private static readonly FrozenDictionary<string, Type> Activities = typeof(ContentChecks).Assembly.GetTypes()
        .Where(t => ContentChecks.Activities.Any(a => a.Activity == t.Name) && typeof(TaskActivity<CheckInput, CheckResult[]>).IsAssignableFrom(t))
        .ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>The results of the checks that completed; the orchestration runs the others.</summary>
    public async Task<IReadOnlyList<CheckResult>> RunAsync(string instanceId, string sha256)
    {
        var input = new CheckInput(sha256);
        var runs = ContentChecks.Activities.Where(a => Activities.ContainsKey(a.Activity)).Select(a => RunOneAsync(a.Activity, instanceId, input)).ToList();
        var results = await Task.WhenAll(runs);
        return [.. results.SelectMany(r => r ?? [])];
    }

    private async Task<CheckResult[]?> RunOneAsync(string name, string instanceId, CheckInput input)
    {
        // Off the caller's thread: the archive walk and the model scan read and parse in parallel.
        await Task.Yield();
        try
        {
            var activity = (TaskActivity<CheckInput, CheckResult[]>)ActivatorUtilities.CreateInstance(services, Activities[name]);
            return await activity.RunAsync(new InProcessContext(name, instanceId), input);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Check {Check} on {Sha256} failed in process; the orchestration runs it as an activity", name, input.Sha256);
            return null;
        }
    }

    /// <summary>What a check learns of its invocation when it runs in process: its name and the content's instance.</summary>
    private sealed class InProcessContext(string name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name { get; } = name;

        public override string InstanceId { get; } = instanceId;
    }
}
