using System.Reflection;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>A hand-rolled test double for any interface: records every call and returns completed tasks/defaults.</summary>
public class RecordingProxy<T> : DispatchProxy where T : class
{
    public List<(string Method, object?[] Args)> Calls { get; } = [];

    /// <summary>Optional behaviour; its result is returned instead of the default.</summary>
    public Func<MethodInfo, object?[], object?>? Behavior { get; set; }

    public static (T Proxy, RecordingProxy<T> Recorder) New()
    {
        var proxy = Create<T, RecordingProxy<T>>();
        return (proxy, (RecordingProxy<T>)(object)proxy);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        args ??= [];
        Calls.Add((targetMethod.Name, args));
        if (Behavior is not null)
        {
            return Behavior(targetMethod, args);
        }

        var returnType = targetMethod.ReturnType;
        if (returnType == typeof(Task))
        {
            return Task.CompletedTask;
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            var result = returnType.GetGenericArguments()[0];
            var value = result.IsValueType ? Activator.CreateInstance(result) : null;
            return typeof(Task).GetMethod(nameof(Task.FromResult))!.MakeGenericMethod(result).Invoke(null, [value]);
        }

        return returnType.IsValueType && returnType != typeof(void) ? Activator.CreateInstance(returnType) : null;
    }
}
