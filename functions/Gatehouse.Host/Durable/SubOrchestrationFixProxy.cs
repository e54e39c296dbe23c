using System.Reflection;
using System.Runtime.ExceptionServices;
using DurableTask.Core;
using DurableTask.Core.History;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Decorates the <see cref="IOrchestrationService"/> that the in-process gRPC sidecar
/// (<c>Microsoft.DurableTask.InProcessTestHost</c> 0.2.3-preview.1) drives, so that sub-orchestrations work on the
/// AzureStorage provider.
/// </summary>
/// <remarks>
/// Why: the sidecar was written for its in-memory backend, which never serializes history. On
/// <c>AzureStorageOrchestrationService</c> two of its objects break persistence:
/// <list type="number">
/// <item>The <see cref="ExecutionStartedEvent"/> it sends to start a sub-orchestration carries the protobuf
/// <c>MapField</c> of the gRPC request as <see cref="ExecutionStartedEvent.Tags"/>. The provider serializes queue
/// messages with type names, and its type binder cannot load <c>Google.Protobuf.Collections.MapField</c> back
/// ("Error resolving type specified in JSON ... Tags.$type"), so the child never starts.</item>
/// <item>It records the parent's history entry as <c>GrpcSubOrchestrationInstanceCreatedEvent</c>, a subclass
/// without <c>[DataContract]</c>. The provider's table converter only walks <c>[DataContract]</c> types and writes an
/// empty history row, which later fails to load ("The TableEntity did not contain a 'EventType' property").</item>
/// </list>
/// Both are rewritten to the plain DurableTask.Core shapes just before
/// <see cref="IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync"/>; the only thing dropped is the
/// subclass's distributed-trace parent context (tracing only). Every other call passes through unchanged.
/// Remove this decorator once the sidecar persists these types correctly.
/// It also orders shutdown: the sidecar stops the service from an <c>async void</c> handler on application stopping,
/// and <c>AzureStorageOrchestrationService.StopAsync</c> throws a NullReferenceException when it was never started
/// (a fast stop), which would crash the process. A stop therefore waits for a start in flight and is a no-op without one.
/// Every stop after a start is the same forced stop: the provider's second stop returns at once without waiting for the
/// lease release, so a host awaiting it would exit mid-release; and an unforced stop drains the partitions for up to
/// 60 s, waiting for orchestration work items the sidecar handed to a worker that has already stopped and never answers.
/// Their messages stay in the control queue and reappear for the next process after their visibility timeout.
/// </remarks>
internal class SubOrchestrationFixProxy : DispatchProxy
{
    private readonly Lock _lifecycle = new();
    private IOrchestrationService? _inner;
    private Task? _started;
    private Lazy<Task>? _stop;

    /// <summary>Returns <paramref name="inner"/> wrapped in the fix.</summary>
    public static IOrchestrationService Wrap(IOrchestrationService inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var proxy = Create<IOrchestrationService, SubOrchestrationFixProxy>();
        ((SubOrchestrationFixProxy)(object)proxy)._inner = inner;
        return proxy;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var target = _inner ?? throw new InvalidOperationException($"Use {nameof(SubOrchestrationFixProxy)}.{nameof(Wrap)}.");

        if (targetMethod.Name == nameof(IOrchestrationService.StopAsync))
        {
            return Stop(target);
        }

        if (targetMethod.Name == nameof(IOrchestrationService.StartAsync))
        {
            lock (_lifecycle)
            {
                var start = (Task?)Call(target, targetMethod, args);
                _started = start;
                return start;
            }
        }

        if (targetMethod.Name == nameof(IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync) && args is not null)
        {
            foreach (var arg in args)
            {
                switch (arg)
                {
                    case TaskOrchestrationWorkItem workItem:
                        Normalize(workItem.OrchestrationRuntimeState);
                        break;
                    case OrchestrationRuntimeState runtimeState:
                        Normalize(runtimeState);
                        break;
                    case IEnumerable<TaskMessage> messages:
                        foreach (var message in messages)
                        {
                            NormalizeTags(message?.Event);
                        }

                        break;
                    case TaskMessage message:
                        NormalizeTags(message.Event);
                        break;
                }
            }
        }

        return Call(target, targetMethod, args);
    }

    /// <summary>The one forced stop of a started service, shared by every caller; nothing to do before a start.</summary>
    private Task Stop(IOrchestrationService target)
    {
        Lazy<Task> stop;
        lock (_lifecycle)
        {
            if (_started is not { } start)
            {
                return Task.CompletedTask;
            }

            // Lazy: the provider's stop cancels its loops synchronously, which should not run under this lock.
            stop = _stop ??= new Lazy<Task>(() => StopAfterStartAsync(target, start));
        }

        return stop.Value;
    }

    private static async Task StopAfterStartAsync(IOrchestrationService target, Task start)
    {
        try
        {
            await start;
        }
        catch (Exception) when (!start.IsCompletedSuccessfully)
        {
            return; // a start that failed left nothing to stop
        }

        await target.StopAsync(isForced: true);
    }

    private static object? Call(IOrchestrationService target, MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw; // unreachable
        }
    }

    /// <summary>Replaces sidecar-specific history event subclasses in the state that is about to be persisted.</summary>
    internal static void Normalize(OrchestrationRuntimeState? state)
    {
        if (state is null)
        {
            return;
        }

        // The same event object sits in both Events and NewEvents; keep the replacement shared as well.
        var replacements = new Dictionary<HistoryEvent, HistoryEvent>(ReferenceEqualityComparer.Instance);
        Replace(state.Events, replacements);
        Replace(state.NewEvents, replacements);
        foreach (var e in state.Events)
        {
            NormalizeTags(e);
        }
    }

    /// <summary>Makes sure event tags are a plain <see cref="Dictionary{TKey, TValue}"/> (serializable by the provider).</summary>
    internal static void NormalizeTags(HistoryEvent? historyEvent)
    {
        switch (historyEvent)
        {
            case ExecutionStartedEvent { Tags: { } tags } started when !IsPlainDictionary(tags):
                started.Tags = new Dictionary<string, string>(tags);
                break;
            case TaskScheduledEvent { Tags: { } tags } scheduled when !IsPlainDictionary(tags):
                scheduled.Tags = new Dictionary<string, string>(tags);
                break;
            case SubOrchestrationInstanceCreatedEvent { Tags: { } tags } created when !IsPlainDictionary(tags):
                created.Tags = new Dictionary<string, string>(tags);
                break;
        }
    }

    private static bool IsPlainDictionary(IDictionary<string, string> tags) => tags.GetType() == typeof(Dictionary<string, string>);

    private static void Replace(IList<HistoryEvent> events, Dictionary<HistoryEvent, HistoryEvent> replacements)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is SubOrchestrationInstanceCreatedEvent created && created.GetType() != typeof(SubOrchestrationInstanceCreatedEvent))
            {
                if (!replacements.TryGetValue(created, out var plain))
                {
                    plain = new SubOrchestrationInstanceCreatedEvent(created.EventId)
                    {
                        Name = created.Name,
                        Version = created.Version,
                        InstanceId = created.InstanceId,
                        Input = created.Input,
                        ClientSpanId = created.ClientSpanId,
                        Tags = created.Tags is null ? null : new Dictionary<string, string>(created.Tags),
                        Timestamp = created.Timestamp,
                        IsPlayed = created.IsPlayed,
                    };
                    replacements.Add(created, plain);
                }

                events[i] = plain;
            }
        }
    }
}
